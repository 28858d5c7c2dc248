// How each tool is told to download a list of items. A tool's `prepare`
// writes its input files (manifest, aria2 input file, curl config, sums)
// into `scratch` and returns `(outDir) => [command, args, env?]`.
//
// An item is `{ url, path, size, sha256 }`; `path` is relative to the output folder.
import { dirname, join } from 'node:path';
import { writeLines } from './data.mjs';

const q = (text) => `'${String(text).replaceAll("'", "'\\''")}'`;

/** `dl get -i MANIFEST -o OUT -j N --per-host N --quiet`. */
export function dlTool({
  name = 'dl',
  node = process.execPath,
  bin,
  concurrency,
  perHost = concurrency,
  nodeArgs = [],
  extraArgs = [],
  env,
  mapUrl = (url) => url,
}) {
  return {
    name,
    async prepare(scratch, items, tag) {
      const suffix = name === 'dl' ? '' : `-${name.replace(/\W+/g, '')}`;
      const manifest = join(scratch, `dl-${tag}${suffix}.jsonl`);
      await writeLines(
        manifest,
        map(items(), (it) =>
          JSON.stringify({
            url: mapUrl(it.url),
            path: it.path,
            size: it.size,
            digests: { sha256: it.sha256 },
          }),
        ),
      );
      return (outDir) => [
        node,
        [
          ...nodeArgs,
          bin,
          'get',
          '-i',
          manifest,
          '-o',
          outDir,
          '-j',
          String(concurrency),
          '--per-host',
          String(perHost),
          '--quiet',
          ...extraArgs,
        ],
        env,
      ];
    },
  };
}

/** bench/naive-download.mjs: undici `request` + a limiter + `crypto`. */
export function naiveTool({ concurrency }) {
  const script = new URL('../naive-download.mjs', import.meta.url).pathname;
  return {
    name: 'naive Node',
    async prepare(scratch, items, tag) {
      const manifest = join(scratch, `naive-${tag}.jsonl`);
      await writeLines(
        manifest,
        map(items(), (it) =>
          JSON.stringify({
            url: it.url,
            path: it.path,
            size: it.size,
            digests: { sha256: it.sha256 },
          }),
        ),
      );
      return (outDir) => [process.execPath, [script, manifest, outDir, String(concurrency)]];
    },
  };
}

/**
 * bench/node-floor.mjs: undici `Agent.dispatch()` with a plain handler object,
 * sha256 as data arrives, a synchronous write + rename per small file, the
 * same manifest as the naive script and an Agent with `connections` per host.
 */
export function nodeFloorTool({ concurrency, env }) {
  const script = new URL('../node-floor.mjs', import.meta.url).pathname;
  return {
    name: 'node floor',
    async prepare(scratch, items, tag) {
      const manifest = join(scratch, `floor-${tag}.jsonl`);
      await writeLines(
        manifest,
        map(items(), (it) =>
          JSON.stringify({
            url: it.url,
            path: it.path,
            size: it.size,
            digests: { sha256: it.sha256 },
          }),
        ),
      );
      return (outDir) => [process.execPath, [script, manifest, outDir, String(concurrency)], env];
    },
  };
}

/**
 * aria2c with an input file (`checksum=sha-256=…` per download, so aria2
 * verifies each file after writing it), N downloads at once, `connections`
 * each (`-x`/`-s`; one by default), no preallocation.
 */
export function aria2Tool({ concurrency, connections = 1, extraArgs = [], name = 'aria2c' }) {
  return {
    name,
    async prepare(scratch, items, tag) {
      const input = join(scratch, `aria2-${tag}.txt`);
      await writeLines(
        input,
        map(items(), (it) => `${it.url}\n  out=${it.path}\n  checksum=sha-256=${it.sha256}`),
      );
      return (outDir) => [
        'aria2c',
        [
          '-i',
          input,
          '-d',
          outDir,
          `-j${concurrency}`,
          `-x${connections}`,
          `-s${connections}`,
          '--file-allocation=none',
          '--allow-overwrite=true',
          '--auto-file-renaming=false',
          '--console-log-level=warn',
          '--summary-interval=0',
          '--download-result=hide',
          '--quiet=true',
          ...extraArgs,
        ],
      ];
    },
  };
}

/**
 * `curl --parallel --parallel-max N -K CONFIG`, then `sha256sum -c` over the
 * output: curl itself verifies nothing.
 */
export function curlTool({ concurrency, extraArgs = [], verify = true, name = 'curl --parallel' }) {
  return {
    name: verify ? `${name} + sha256sum` : name,
    async prepare(scratch, items, tag) {
      const config = join(scratch, `curl-${tag}.cfg`);
      const sums = join(scratch, `sums-${tag}.txt`);
      await writeLines(
        config,
        map(
          items(),
          (it) => `url = ${JSON.stringify(it.url)}\noutput = ${JSON.stringify(it.path)}`,
        ),
      );
      if (verify)
        await writeLines(
          sums,
          map(items(), (it) => `${it.sha256}  ${it.path}`),
        );
      const curl = [
        'curl',
        '-sS',
        '--fail',
        '--create-dirs',
        '--parallel',
        '--parallel-max',
        String(concurrency),
        ...extraArgs,
        '-K',
        config,
      ]
        .map(q)
        .join(' ');
      return (outDir) => [
        'bash',
        ['-c', `cd ${q(outDir)} && ${curl}${verify ? ` && sha256sum --quiet -c ${q(sums)}` : ''}`],
      ];
    },
  };
}

/** One file: `curl | tee FILE | openssl dgst -sha256`, digest compared in the shell. */
export function curlOpensslTool() {
  return {
    name: 'curl | openssl dgst',
    async prepare(_scratch, items) {
      const [it] = [...items()];
      return (outDir) => [
        'bash',
        [
          '-c',
          `set -o pipefail; mkdir -p ${q(join(outDir, dirname(it.path)))} && h=$(curl -sS --fail ${q(it.url)} | tee ${q(join(outDir, it.path))} | openssl dgst -sha256 -r) && [ "\${h%% *}" = ${q(it.sha256)} ]`,
        ],
      ];
    },
  };
}

/**
 * wget2 over a list of URLs (`-i`), `--max-threads=N`, paths from the URLs
 * (`-x -nH`), then `sha256sum -c`: wget2 verifies nothing itself.
 */
export function wget2ListTool({ concurrency, extraArgs = [], name = 'wget2 + sha256sum' }) {
  return {
    name,
    async prepare(scratch, items, tag) {
      const urls = join(scratch, `wget2-${tag}.txt`);
      const sums = join(scratch, `wget2-sums-${tag}.txt`);
      await writeLines(
        urls,
        map(items(), (it) => it.url),
      );
      await writeLines(
        sums,
        map(items(), (it) => `${it.sha256}  ${it.path}`),
      );
      const wget2 = [
        'wget2',
        '-q',
        '--no-robots',
        '--no-hsts',
        '--no-ocsp',
        '--no-tcp-fastopen',
        `--max-threads=${concurrency}`,
        '-x',
        '-nH',
        ...extraArgs,
        '-i',
        urls,
      ]
        .map(q)
        .join(' ');
      return (outDir) => [
        'bash',
        ['-c', `cd ${q(outDir)} && ${wget2} && sha256sum --quiet -c ${q(sums)}`],
      ];
    },
  };
}

/** One file with wget2, no verification (the rate to aim at). */
export function wget2Tool() {
  return {
    name: 'wget2 (no hash)',
    async prepare(_scratch, items) {
      const [it] = [...items()];
      return (outDir) => [
        'wget2',
        ['-q', '--no-robots', '--max-threads=1', '-O', join(outDir, it.path), it.url],
      ];
    },
  };
}

/** `lftp mirror --parallel=N` of one remote folder, then `sha256sum -c`. */
export function lftpMirrorTool({ concurrency, site, remoteDir, localDir }) {
  return {
    name: 'lftp mirror + sha256sum',
    async prepare(scratch, items, tag) {
      const list = [...items()];
      const sums = join(scratch, `lftp-sums-${tag}.txt`);
      await writeLines(
        sums,
        map(list, (it) => `${it.sha256}  ${it.path}`),
      );
      // A probe mirrors one file only: `get` it instead of the whole folder.
      const command =
        list.length === 1
          ? `get ${q(new URL(list[0].url).pathname)} -o ${q(list[0].path)}`
          : `mirror --parallel=${concurrency} --no-perms --no-umask ${q(remoteDir)} ${q(localDir)}`;
      const script = [
        'set cmd:fail-exit yes',
        'set net:max-retries 2',
        'set xfer:clobber on',
        `set net:connection-limit ${concurrency}`,
        `open ${site}`,
        command,
        'quit',
      ].join('; ');
      return (outDir) => [
        'bash',
        [
          '-c',
          `cd ${q(outDir)} && mkdir -p ${q(localDir)} && lftp -c ${q(script)} && sha256sum --quiet -c ${q(sums)}`,
        ],
      ];
    },
  };
}

function* map(iterable, fn) {
  for (const x of iterable) yield fn(x);
}
