/**
 * Load generator: `npm run loadtest -- [options]` (`--help` lists them).
 * Simulates a sale with socket.io-client buyers against a running server
 * (--url) or one it starts on a fresh database, measures it, checks the
 * invariants and exits non-zero on any violation. See BENCHMARKS.md.
 */
import { parseOptions, UsageError } from './lib/options';
import { runLoadtest } from './lib/loadtest-run';
import { textReport } from './lib/report';
import { writeReports } from './lib/report-files';

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(err.message.endsWith('\n') ? err.message : `${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const tty = process.stderr.isTTY && !options.json;
  const progress = (line: string, final = false) => {
    if (options.quiet) return;
    if (tty) process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else if (final || !/^(sale|storm) /.test(line) || Date.now() % 5000 < 1000) process.stderr.write(`${line}\n`);
  };
  const result = await runLoadtest(options, progress);
  if (tty) process.stderr.write('\n');
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${textReport(result)}\n`);
  if (options.reportDir) {
    const files = writeReports(result, options.reportDir);
    process.stderr.write(`result: ${files.json}\nreport: ${files.html}\n`);
  }
  return result.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`load test failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(3);
  },
);
