/**
 * The adapter between graphql-ws and graphql-yoga: WebSocket operations run through the same
 * envelop plugins (armor limits, context) as HTTP ones, by asking Yoga for an enveloped executor
 * per operation. Nothing here knows the schema or the resolvers.
 */
import { GraphQLError, type DocumentNode, type ExecutionArgs } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { YogaServerInstance } from "graphql-yoga";
import type { WebSocketServer } from "ws";

type EnvelopedRoot = { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };

/** Serves graphql-ws on `wss` with `yoga`'s envelop; returns the cleanup of graphql-ws. */
export function serveGraphqlWs<ServerCtx extends object, UserCtx extends object>(wss: WebSocketServer, yoga: YogaServerInstance<ServerCtx, UserCtx>) {
  return useServer(
    {
      // The enveloped execute/subscribe travel in rootValue from onSubscribe (graphql-ws' own recipe for envelop).
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      onSubscribe: async (ctx, _id, payload) => {
        // The socket goes into the context: a stalled subscriber can be closed (app.ts).
        const enveloped = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params: payload });
        let document: DocumentNode;
        try {
          document = enveloped.parse(payload.query);
          const errors = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) return errors;
        } catch (err) {
          // Syntax errors and the armor limits (which throw) answer the operation; uncaught, they would close the socket.
          if (err instanceof GraphQLError) return [err];
          throw err;
        }
        return {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
      },
    },
    wss,
  );
}
