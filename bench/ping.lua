-- wrk script: one JSON-RPC ping per POST.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"jsonrpc":"2.0","method":"ping","id":1}'
