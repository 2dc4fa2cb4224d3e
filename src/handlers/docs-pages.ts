import type { ApiInfo } from './openapi';

/** The HTML of /docs (Swagger UI on /openapi.json) and /docs/events (the AsyncAPI document as tables). */
type Schema = Record<string, unknown>;

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `
body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1b1b1f}
nav{display:flex;gap:1.5rem;align-items:center;padding:.7rem 1.5rem;background:#1b1b1f;color:#fff}
nav a{color:#cfe3ff;text-decoration:none}nav a[aria-current]{color:#fff;font-weight:600}
nav strong{margin-right:auto}
main{max-width:70rem;margin:0 auto;padding:1rem 1.5rem}
section{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
h3{margin:.4rem 0;font-family:ui-monospace,monospace}
.dir{font-size:.8rem;color:#555}
table{border-collapse:collapse;width:100%;margin:.4rem 0;table-layout:fixed}
th:nth-child(1){width:28%}th:nth-child(2){width:16%}th:nth-child(3){width:10%}
td,th{border-bottom:1px solid #eee;padding:.25rem .5rem;text-align:left;vertical-align:top}
code{font-family:ui-monospace,monospace;font-size:.9em}
`;

function nav(info: ApiInfo, current: 'rest' | 'events'): string {
  const link = (href: string, label: string, on: boolean) => `<a href="${href}"${on ? ' aria-current="page"' : ''}>${label}</a>`;
  return `<nav><strong>${escape(info.title)} ${escape(info.version)}</strong>${link('/docs', 'REST (OpenAPI)', current === 'rest')}${link(
    '/docs/events',
    'Socket.IO events (AsyncAPI)',
    current === 'events',
  )}<a href="/openapi.json">openapi.json</a><a href="/asyncapi.json">asyncapi.json</a></nav>`;
}

function page(info: ApiInfo, current: 'rest' | 'events', head: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(info.title)} API</title><link rel="icon" href="/docs/favicon-32x32.png">${head}<style>${STYLE}</style></head>
<body>${nav(info, current)}${body}</body></html>`;
}

export function swaggerPage(info: ApiInfo): string {
  return page(info, 'rest', '<link rel="stylesheet" href="/docs/swagger-ui.css">', '<div id="swagger"></div><script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/swagger-init.js"></script>');
}

export const SWAGGER_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger', deepLinking: true, tryItOutEnabled: false });\n`;

/** One row per property, nested objects and arrays of objects flattened with dotted names. */
function fieldRows(schema: Schema, prefix = ''): string[] {
  const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
  const required = new Set((schema['required'] ?? []) as string[]);
  const rows: string[] = [];
  for (const [name, prop] of Object.entries(properties)) {
    const full = `${prefix}${name}`;
    rows.push(`<tr><td><code>${escape(full)}</code></td><td>${escape(typeOf(prop))}</td><td>${required.has(name) ? 'yes' : ''}</td><td>${escape(constraints(prop))}</td></tr>`);
    const items = prop['items'] as Schema | undefined;
    if (prop['properties']) rows.push(...fieldRows(prop, `${full}.`));
    else if (items?.['properties']) rows.push(...fieldRows(items, `${full}[].`));
  }
  return rows;
}

function typeOf(schema: Schema): string {
  const items = schema['items'] as Schema | undefined;
  if (schema['type'] === 'array') return `array of ${items ? typeOf(items) : 'any'}`;
  if (schema['oneOf']) return 'one of';
  return typeof schema['type'] === 'string' ? schema['type'] : 'any';
}

function constraints(schema: Schema): string {
  const parts: string[] = [];
  for (const key of ['enum', 'const', 'format', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'pattern']) {
    if (schema[key] !== undefined) parts.push(`${key}: ${JSON.stringify(schema[key])}`);
  }
  if (typeof schema['description'] === 'string') parts.push(schema['description']);
  return parts.join('; ');
}

function messageSection(message: Schema): string {
  const payload = (message['payload'] ?? {}) as Schema;
  const rows = fieldRows(payload);
  const table = rows.length
    ? `<table><thead><tr><th>field</th><th>type</th><th>required</th><th>constraints</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    : '<p>empty payload <code>{}</code> (may be omitted)</p>';
  const name = String(message['name']);
  return `<section id="${escape(name)}" data-event="${escape(name)}"><h3>${escape(name)}</h3><p class="dir">${escape(text(message['summary']))}</p>${table}</section>`;
}

export function eventsPage(info: ApiInfo, asyncapi: Schema): string {
  const channels = asyncapi['channels'] as Record<string, { messages: Record<string, Schema> }>;
  const operations = asyncapi['operations'] as Record<string, { action: string; messages: { $ref: string }[] }>;
  const messages = Object.values(channels).flatMap((c) => Object.entries(c.messages));
  const byAction = (action: string) => {
    const ids = new Set(Object.entries(operations).filter(([, op]) => op.action === action).map(([id]) => id));
    return messages.filter(([id]) => ids.has(id)).map(([, m]) => messageSection(m));
  };
  const ack = messages.find(([id]) => id === 'ack')?.[1];
  const body = `<main><h1>Socket.IO events</h1>
<p>Connect to the HTTP port with <code>io(url, { transports: ['websocket'], auth: { token } })</code>. Every command below is answered by one ack:
<code>{ok: true, data}</code> or <code>{ok: false, error: {code, message, details?}}</code>. Generated from the command table; the machine-readable form is
<a href="/asyncapi.json">/asyncapi.json</a> (AsyncAPI 3).</p>
<h2>Client → server (commands)</h2>${byAction('receive').join('')}
<h2>Server → client (pushes)</h2>${byAction('send').join('')}
${ack ? `<h2>Ack</h2><p>${escape(text((ack['payload'] as Schema)['description']))}</p>` : ''}</main>`;
  return page(info, 'events', '', body);
}
