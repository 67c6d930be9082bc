// Hardhat 2 configuration for a local Hardhat Network node: `cl-client node --backend hardhat` and
// cl_client.node.LocalNode(backend="hardhat") start `hardhat --config tools/hardhat.config.js node`.
// The node is set up from the environment (cl_client/node.py writes these variables):
//   CL_HARDHAT_ACCOUNTS    JSON list of {"privateKey": "0x..", "balance": "<wei>"} (default: Hardhat's own)
//   CL_HARDHAT_BLOCK_TIME  seconds between blocks (interval mining); 0 or unset: a block per transaction
//   CL_HARDHAT_GAS_LIMIT   block gas limit (default 30,000,000)
//   CL_HARDHAT_CHAIN_ID    chain id (default 1337); CL_HARDHAT_HARDFORK (default "shanghai")
// Nothing is compiled here: the node only runs contracts that cl-client (or Brownie) deploys.
const os = require("os");
const path = require("path");

const env = process.env;
const accounts = JSON.parse(env.CL_HARDHAT_ACCOUNTS || "null");
const blockTime = Number(env.CL_HARDHAT_BLOCK_TIME || 0);

module.exports = {
  paths: {
    root: path.resolve(__dirname, ".."),
    sources: path.join(__dirname, "hardhat-no-sources"), // never compile the project's contracts here
    cache: path.join(os.tmpdir(), "cl-hardhat-cache"),
    artifacts: path.join(os.tmpdir(), "cl-hardhat-artifacts"),
  },
  networks: {
    hardhat: {
      chainId: Number(env.CL_HARDHAT_CHAIN_ID || 1337),
      hardfork: env.CL_HARDHAT_HARDFORK || "shanghai",
      blockGasLimit: Number(env.CL_HARDHAT_GAS_LIMIT || 30000000),
      ...(accounts ? { accounts } : {}),
      mining: blockTime > 0 ? { auto: false, interval: Math.round(blockTime * 1000) } : { auto: true },
    },
  },
};
