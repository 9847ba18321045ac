package dev.bolide.compat;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;

/**
 * The official client over TLS ({@code setUseTLS(true)}: one Netty client config for the name
 * server and the broker alike), against a broker started with {@code --tls-mode enforcing}, so
 * nothing would work in plaintext. run.sh starts that broker for this scenario alone.
 */
final class TlsScenarios {
    private TlsScenarios() {}

    static void register(Map<String, Main.Scenario> scenarios) {
        scenarios.put("tls", TlsScenarios::tls);
    }

    static String tls(Ctx ctx) throws Exception {
        final int n = 200;
        String topic = ctx.topic();
        DefaultMQProducer p = new DefaultMQProducer(ctx.group("PG"));
        p.setNamesrvAddr(ctx.namesrv);
        p.setInstanceName(ctx.instanceName());
        p.setClientIP("127.0.0.1");
        p.setSendMsgTimeout(10000);
        p.setPollNameServerInterval(1000);
        p.setUseTLS(true);
        p.start();
        ctx.onClose(p::shutdown);
        ctx.progress("sending " + n + " messages over TLS to " + topic);
        for (int i = 0; i < n; i++) {
            SendResult r = p.send(new Message(topic, "TagT", ("tls-" + i).getBytes(StandardCharsets.UTF_8)));
            Check.that(r.getSendStatus() == SendStatus.SEND_OK, "send " + i + ": " + r.getSendStatus());
        }
        Set<String> got = ConcurrentHashMap.newKeySet();
        ctx.progress("consuming over TLS");
        ctx.pushConsumer(ctx.group("CG"), MessageModel.CLUSTERING, (MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                got.add(new String(m.getBody(), StandardCharsets.UTF_8));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        }, c -> {
            c.setUseTLS(true);
            c.subscribe(topic, "*");
        });
        ctx.await(() -> got.size() == n, () -> "consumed " + got.size() + " of " + n);
        return "sent and consumed " + n + " messages with useTLS=true";
    }
}
