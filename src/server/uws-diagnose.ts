import { readdirSync } from 'node:fs';

/**
 * Why a uWebSockets.js build did not load, in words an operator can act on:
 * no binary for this Node's ABI (and which ABIs the package has), a C library
 * older than the binary needs (glibc X required, Y here), or the loader's own
 * message. The packages' loaders wrap the real cause in a generic "supports
 * only Node.js 20, 22…" sentence that blames Node when glibc is at fault.
 */
export function uwsLoadFailure(pkgDir: string, binary: string, err: unknown): string {
  const message = String(err instanceof Error ? err.message : err);
  const builds = binariesIn(pkgDir);
  const wanted = `${process.platform}_${process.arch}`;
  const glibc = /version `GLIBC_([\d.]+)' not found/.exec(message)?.[1];
  if (glibc) return `needs glibc ≥ ${glibc}, this system has glibc ${glibcHere() ?? 'unknown'} (${binary})`;
  if (/musl|ld-linux|No such file or directory.*libc/i.test(message) && !glibcHere()) {
    return `built for glibc, this system has none (musl?) (${binary})`;
  }
  if (!builds.includes(binary)) {
    const abis = builds.filter((b) => b.startsWith(`uws_${wanted}_`)).map((b) => /_(\d+)\.node$/.exec(b)?.[1]).filter((abi) => abi !== undefined)
      .sort((a, b) => Number(a) - Number(b));
    return abis.length === 0
      ? `no build for ${wanted}`
      : `no build for Node ${process.version} (ABI ${process.versions.modules}) on ${wanted}; its builds are for ABIs ${abis.join(', ')}`;
  }
  // Last meaningful line: the loaders put the dlopen error after their own preamble.
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? 'unknown error';
}

function binariesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => name.endsWith('.node'));
  } catch {
    return [];
  }
}

function glibcHere(): string | undefined {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime;
}
