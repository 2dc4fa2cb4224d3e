import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { uwsLoadFailure } from '../../src/server/uws-diagnose';

/** The start log's reason when uWebSockets.js does not load names the real cause. */
function packageWith(...binaries: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uws-'));
  for (const name of binaries) writeFileSync(path.join(dir, name), '');
  return dir;
}

const here = `${process.platform}_${process.arch}`;
const mine = `uws_${here}_${process.versions.modules}.node`;
const wrapped = (cause: string) =>
  new Error(`This version of uWS.js (v20.57.0) supports only Node.js versions 20, 22, 24 and 25 on (glibc) Linux…\n\nError: ${cause}`);

describe('uwsLoadFailure', () => {
  it('names the glibc the binary needs and the one this system has, not Node', () => {
    const dir = packageWith(mine);
    const err = wrapped(`/lib/x86_64-linux-gnu/libc.so.6: version \`GLIBC_2.38' not found (required by ${dir}/${mine})`);
    const reason = uwsLoadFailure(dir, mine, err);
    expect(reason).toMatch(/^needs glibc ≥ 2\.38, this system has glibc \S+ \(uws_/);
    expect(reason).not.toMatch(/Node\.js versions/);
  });

  it('names the Node ABI when the package has no binary for it, and the ABIs it has', () => {
    const dir = packageWith(`uws_${here}_93.node`, `uws_${here}_108.node`, 'uws_win32_x64_999.node');
    const reason = uwsLoadFailure(dir, mine, wrapped(`Cannot find module './${mine}'`));
    expect(reason).toBe(`no build for Node ${process.version} (ABI ${process.versions.modules}) on ${here}; its builds are for ABIs 93, 108`);
  });

  it('says so when there is no build for this platform at all', () => {
    expect(uwsLoadFailure(packageWith('uws_win32_x64_115.node'), mine, new Error('Cannot find module'))).toBe(`no build for ${here}`);
  });

  it('otherwise keeps the loader error itself, not its preamble', () => {
    const dir = packageWith(mine);
    expect(uwsLoadFailure(dir, mine, wrapped('undefined symbol: napi_foo'))).toBe('Error: undefined symbol: napi_foo');
  });
});
