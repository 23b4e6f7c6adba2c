// The keyrotation provider plugin's entry, started by the engine through the Node language host
// (PulumiPlugin.yaml). It exports nothing: the plugin runner would otherwise host the exports as
// components. The code is the package's build (npm run build writes dist/).
require("../dist/provider/main").serve();
