// The "null broker": a Bun TCP server that answers every RocketMQ remoting request with SUCCESS
// and stores nothing, so that the produce workloads against it show the client's own ceiling.
// It answers GET_BROKER_CLUSTER_INFO with itself as the master so that the normal client works.
//
//   bun scripts/bench/null_broker.ts --port 19911
import { parseArgs } from "node:util";
import { encodeFrame, decodeFrame, frameBytesMaxDefault } from "../../src/net/frame.ts";
import { FrameDecoder } from "../../src/net/frame_decoder.ts";
import { newResponse } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";

const { values } = parseArgs({ options: { port: { type: "string", default: "19911" } } });
const port = Number(values.port);
const self = `127.0.0.1:${port}`;
const clusterInfo = new TextEncoder().encode(JSON.stringify({ brokerAddrTable: { null: { brokerName: "null", brokerAddrs: { "0": self } } }, clusterAddrTable: {} }));
const sendOk = { msgId: "00000000000000000000000000000000", queueId: "0", queueOffset: "0" };

Bun.listen<{ decoder: FrameDecoder }>({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(socket) {
      socket.data = { decoder: new FrameDecoder(frameBytesMaxDefault) };
    },
    data(socket, chunk) {
      const decoder = socket.data.decoder;
      decoder.push(chunk);
      const out: Uint8Array[] = [];
      for (let frame = decoder.next(); frame !== null; frame = decoder.next()) {
        const request = decodeFrame(frame);
        const response =
          request.code === RequestCode.GET_BROKER_CLUSTER_INFO ? newResponse(request, 0, null, {}, clusterInfo) : newResponse(request, 0, null, sendOk);
        out.push(encodeFrame(response));
      }
      if (out.length === 1) socket.write(out[0]!);
      else if (out.length > 1) socket.write(Buffer.concat(out));
    },
  },
});
process.stdout.write(`null broker on ${self}\n`);
