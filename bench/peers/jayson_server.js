// jayson_server.js - the Node peer for bench/run.sh: jayson's HTTP server
// (one Node process, one event loop) answering `ping` with "pong".
//
//   NODE_PATH=<dir with node_modules> node jayson_server.js PORT
'use strict';
const jayson = require('jayson');

const port = parseInt(process.argv[2], 10);
if (!(port > 0 && port < 65536)) {
  console.error('usage: node jayson_server.js PORT');
  process.exit(2);
}
const server = new jayson.Server({
  ping(args, callback) {
    callback(null, 'pong');
  },
});
server.http().listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
