#!/usr/bin/python3
"""A NodeService that answers GetInfo only, over TLS with client certificates
required: the TLS peer of the example clients' test (run_client_test.sh), so
that their --tls-ca / --tls-client-cert / --tls-client-key are checked
against a real TLS server without a TLS pbnode.

    tls_info_server.py STUBS CERT KEY CLIENT_CA CHAIN_ID

Listens on 127.0.0.1 on a port the kernel picks, prints
"listening on 127.0.0.1:PORT" and serves until SIGTERM.
"""
import signal
import sys
import threading
from concurrent import futures


def main() -> int:
    stubs, cert, key, client_ca, chain_id = sys.argv[1:6]
    sys.path.insert(0, stubs)
    import grpc
    from pbchain.v1 import node_pb2, node_pb2_grpc

    class Info(node_pb2_grpc.NodeServiceServicer):
        def GetInfo(self, request, context):
            return node_pb2.GetInfoResponse(chain_id=chain_id, height=7)

    def read(p):
        with open(p, "rb") as f:
            return f.read()

    creds = grpc.ssl_server_credentials(
        [(read(key), read(cert))], root_certificates=read(client_ca),
        require_client_auth=True)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    node_pb2_grpc.add_NodeServiceServicer_to_server(Info(), server)
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
