// One GraphQL subscription through graphql-ws, the client Apollo Client and urql use.
//
//   node subscribe.mjs --url ws://127.0.0.1:8000/graphql/ --token <access token> \
//       --query 'subscription { myNotifications { id title } }' [--variables '{...}']
//
// Prints one JSON object per line on stdout, as things happen:
//   {"type":"connected"}                          the server acknowledged connection_init
//   {"type":"next","payload":{"data":...}}        each result, as the server sent it
//   {"type":"error","errors":[...]}               the server refused the operation
//   {"type":"closed","code":4403,"reason":"..."}  the socket closed
//   {"type":"complete"}                           the server ended the operation
// Exits 0 once the operation completes or on SIGTERM/SIGINT, 1 on an error or a closed
// socket. No reconnection (retryAttempts: 0): whoever runs it sees every close.

import { parseArgs } from "node:util";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const { values: options } = parseArgs({
  options: {
    url: { type: "string" },
    token: { type: "string", default: "" },
    query: { type: "string" },
    variables: { type: "string", default: "{}" },
  },
});
if (!options.url || !options.query) {
  process.stderr.write("usage: subscribe.mjs --url URL --query DOCUMENT [--token T] [--variables JSON]\n");
  process.exit(2);
}

function print(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

function closeEventOf(value) {
  return value && typeof value.code === "number" && "reason" in value;
}

let ending = false;

function end(status) {
  if (ending) return;
  ending = true;
  // Let stdout drain, then stop whatever the client still holds open.
  client.dispose().finally(() => setImmediate(() => process.exit(status)));
}

const client = createClient({
  url: options.url,
  webSocketImpl: WebSocket,
  connectionParams: options.token ? { authorization: `Bearer ${options.token}` } : {},
  lazy: false,
  retryAttempts: 0,
  onNonLazyError: (error) => {
    if (!closeEventOf(error)) print({ type: "error", errors: [{ message: String(error) }] });
    end(1);
  },
  on: {
    connected: () => print({ type: "connected" }),
    closed: (event) => {
      print({ type: "closed", code: event?.code ?? null, reason: event?.reason ?? "" });
      if (!ending) end(1);
    },
  },
});

client.subscribe(
  { query: options.query, variables: JSON.parse(options.variables) },
  {
    next: (payload) => print({ type: "next", payload }),
    error: (error) => {
      if (ending) return;
      if (Array.isArray(error)) {
        print({ type: "error", errors: error });
      } else if (!closeEventOf(error)) {
        print({ type: "error", errors: [{ message: String(error?.message ?? error) }] });
      }
      end(1);
    },
    complete: () => {
      if (ending) return; // the socket closed first: reported as "closed"
      print({ type: "complete" });
      end(0);
    },
  },
);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => end(0));
}
