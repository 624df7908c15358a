// Builds the single-page app (web/src) into web/dist: hashed files under /assets/, CSS as files,
// no inline script or style, so the control plane's CSP (`script-src 'self'; style-src 'self'`) holds.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { BUILD_BROTLI_QUALITY, COMPRESSIBLE_EXTENSIONS, compressAsset } from '../src/control/console/compress-asset.ts';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// Scalar's standalone bundle (about 1.2 MB compressed) is copied as its own hashed file and loaded
// by the API reference page only, so it never weighs on the dashboard's first load.
const scalarDir = dirname(require.resolve('@scalar/api-reference'));
const scalarFiles = {
  script: { source: readFileSync(join(scalarDir, 'browser', 'standalone.js')), name: 'scalar', ext: 'js' },
  style: { source: readFileSync(join(scalarDir, 'style.css')), name: 'scalar', ext: 'css' },
};
const hashed = (f: { source: Buffer; name: string; ext: string }) =>
  `assets/${f.name}-${createHash('sha256').update(f.source).digest('hex').slice(0, 10)}.${f.ext}`;
const scalarScript = hashed(scalarFiles.script);
const scalarStyle = hashed(scalarFiles.style);

function scalarAssets(): Plugin {
  return {
    name: 'gatehouse-scalar-assets',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: scalarScript, source: scalarFiles.script.source });
      this.emitFile({ type: 'asset', fileName: scalarStyle, source: scalarFiles.style.source });
    },
  };
}

// Every compressible asset gets its .br and .gz beside it, which the control plane sends as they are:
// it never compresses a large file on a request (Scalar's bundle once held it for 18 s at quality 11).
function precompressedAssets(): Plugin {
  return {
    name: 'gatehouse-precompressed-assets',
    apply: 'build',
    async writeBundle(options, bundle) {
      const outDir = options.dir ?? join(here, 'dist');
      const files = Object.values(bundle).filter((f) => f.fileName.startsWith('assets/') && COMPRESSIBLE_EXTENSIONS.has(extname(f.fileName)));
      await Promise.all(
        files.map(async (f) => {
          const source = f.type === 'chunk' ? Buffer.from(f.code) : Buffer.from(f.source);
          const { br, gzip } = await compressAsset(source, BUILD_BROTLI_QUALITY);
          await Promise.all([writeFile(join(outDir, `${f.fileName}.br`), br), writeFile(join(outDir, `${f.fileName}.gz`), gzip)]);
        }),
      );
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  define: {
    __SCALAR_SCRIPT__: JSON.stringify(`/${scalarScript}`),
    __SCALAR_STYLE__: JSON.stringify(`/${scalarStyle}`),
  },
  plugins: [scalarAssets(), precompressedAssets()],
  build: {
    outDir: join(here, 'dist'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // Never inline assets as data: URLs or CSS into JS: every style arrives as a file.
    assetsInlineLimit: 0,
    cssCodeSplit: true,
    // The preload polyfill is not needed by current browsers.
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
    rolldownOptions: {
      // TanStack Query marks modules "use client" for React Server Components; meaningless in an SPA.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});
