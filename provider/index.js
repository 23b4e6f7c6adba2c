// The keyrotation provider plugin's entry, started by the engine through the Node language host
// (PulumiPlugin.yaml). It exports nothing: the plugin runner would otherwise host the exports as
// components. The code is the package's build (npm run build writes dist/).
//
// Node's on-disk compile cache (Node 22.1 and later; in os.tmpdir() unless NODE_COMPILE_CACHE
// names a folder) keeps the compiled code of the modules loaded from here on, the package's own
// and the AWS SDK's, across plugin starts: about 50 ms less CPU per start (docs/scale.md). The
// cache is only an optimisation, so any failure to use it is ignored.
try {
  require("node:module").enableCompileCache?.();
} catch {
  // no cache: the plugin starts as before
}
require("../dist/provider/main").serve();
