/* SPDX-License-Identifier: MIT */
/*
 * jsonrpccpp_server.cpp - the libjson-rpc-cpp peer for bench/run.sh:
 * Debian's libjsonrpccpp-server with its libmicrohttpd HttpServer connector
 * run with ONE thread, answering `ping` with "pong".  The AbstractServer
 * subclass is written by hand (what jsonrpcstub would generate for one
 * method without params).
 *
 *   jsonrpccpp_server PORT      (serves until SIGTERM/SIGINT)
 *
 * Note: libjson-rpc-cpp 1.4's HttpServer has no bind-address option; it
 * listens on the wildcard address.  bench/run.sh only ever sends to
 * 127.0.0.1 and stops it after its load.
 */
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

#include <jsonrpccpp/server.h>
#include <jsonrpccpp/server/connectors/httpserver.h>

class PingServer : public jsonrpc::AbstractServer<PingServer>
{
  public:
    explicit PingServer(jsonrpc::AbstractServerConnector &conn)
        : jsonrpc::AbstractServer<PingServer>(conn, jsonrpc::JSONRPC_SERVER_V2)
    {
        this->bindAndAddMethod(jsonrpc::Procedure("ping",
                                                  jsonrpc::PARAMS_BY_NAME,
                                                  jsonrpc::JSON_STRING, NULL),
                               &PingServer::ping);
    }

    void ping(const Json::Value &request, Json::Value &response)
    {
        (void)request;
        response = "pong";
    }
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int
main(int argc, char **argv)
{
    long port = argc == 2 ? std::strtol(argv[1], NULL, 10) : 0;
    if (port <= 0 || port > 65535) {
        std::fprintf(stderr, "usage: jsonrpccpp_server PORT\n");
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);

    jsonrpc::HttpServer http((int)port, "", "", 1); /* one thread */
    PingServer server(http);
    if (!server.StartListening()) {
        std::fprintf(stderr, "jsonrpccpp_server: cannot listen on %ld\n",
                     port);
        return 1;
    }
    while (!stop)
        pause();
    server.StopListening();
    return 0;
}
