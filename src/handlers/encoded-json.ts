/**
 * A reply value with its JSON text made once: the socket parser and the HTTP
 * writer send `json` as it is, instead of walking and stringifying `value` once
 * per reply (a seat map read by thousands of sockets between two commits).
 * Anything else that stringifies it gets the same text (`toJSON`).
 */
export class EncodedJson<T = unknown> {
  private ok: EncodedJson<{ ok: true; data: T }> | undefined;

  constructor(
    readonly value: T,
    readonly json: string = JSON.stringify(value),
  ) {}

  toJSON(): T {
    return this.value;
  }

  /** The socket's success reply around it, `{ok: true, data}`, its text made once too. */
  okReply(): EncodedJson<{ ok: true; data: T }> {
    return (this.ok ??= new EncodedJson({ ok: true as const, data: this.value }, `{"ok":true,"data":${this.json}}`));
  }
}

const encoded = new WeakMap<object, EncodedJson>();

/** The encoding of a value that is never changed once made (a committed seat map): one per object. */
export function encodedOnce<T extends object>(value: T): EncodedJson<T> {
  let known = encoded.get(value) as EncodedJson<T> | undefined;
  if (!known) encoded.set(value, (known = new EncodedJson(value)));
  return known;
}
