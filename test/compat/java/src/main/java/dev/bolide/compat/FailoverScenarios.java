package dev.bolide.compat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;

/**
 * Master/slave failover with the official client, against two broker names each with a master
 * and a slave. Not in any set: it needs a driver that kills and restarts a master
 * (test/e2e/failover_java.test.ts). The driver is told what to do by a stdout line
 * {@code CONTROL <action>} and answers with one line on stdin once it is done.
 *
 * <ol>
 *   <li>300 sync sends: both broker names get some, every one SEND_OK.</li>
 *   <li>{@code CONTROL kill-master-a}: 200 sync sends during the outage, every one SEND_OK (the
 *       client's retries go to broker-b).</li>
 *   <li>A new push consumer group gets all 500 (broker-a's from its slave: the driver runs
 *       broker-a as SYNC_MASTER, so every acknowledged message is on the slave).</li>
 *   <li>{@code CONTROL restart-master-a}: 100 more sends, all 600 consumed; duplicates counted.</li>
 * </ol>
 */
final class FailoverScenarios {
    private FailoverScenarios() {}

    static void register(Map<String, Main.Scenario> scenarios) {
        scenarios.put("failover", FailoverScenarios::failover);
    }

    private static final BufferedReader STDIN = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

    /** Asks the driver to do `action` and waits for its answer line. */
    private static void control(Ctx ctx, String action) throws IOException {
        ctx.progress("asking the driver to " + action);
        System.out.println("CONTROL " + action);
        System.out.flush();
        String answer = STDIN.readLine();
        Check.that(answer != null && answer.trim().equals("ok"), "driver did not confirm " + action + ": " + answer);
    }

    private static void sendAll(DefaultMQProducer p, String topic, String prefix, int count, Map<String, String> acked) throws Exception {
        for (int i = 0; i < count; i++) {
            String body = prefix + "-" + i;
            SendResult r = p.send(new Message(topic, "TagF", body.getBytes(StandardCharsets.UTF_8)));
            Check.that(r.getSendStatus() == SendStatus.SEND_OK, body + ": sendStatus " + r.getSendStatus());
            acked.put(body, r.getMessageQueue().getBrokerName());
        }
    }

    static String failover(Ctx ctx) throws Exception {
        String topic = ctx.topic();
        DefaultMQProducer p = ctx.producer();
        Map<String, String> acked = new ConcurrentHashMap<>();

        ctx.progress("300 sends to both masters");
        sendAll(p, topic, "before", 300, acked);
        long onA = acked.values().stream().filter("broker-a"::equals).count();
        Check.that(onA > 0 && onA < 300, "both broker names should get messages; broker-a got " + onA + " of 300");

        control(ctx, "kill-master-a");
        ctx.progress("200 sends while broker-a's master is down");
        sendAll(p, topic, "outage", 200, acked);

        Set<String> got = ConcurrentHashMap.newKeySet();
        AtomicInteger deliveries = new AtomicInteger();
        ctx.pushConsumer(ctx.group("CG"), topic, "*", MessageModel.CLUSTERING, (MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                deliveries.incrementAndGet();
                got.add(new String(m.getBody(), StandardCharsets.UTF_8));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        ctx.await(() -> got.containsAll(acked.keySet()),
            () -> "consumed " + got.size() + " of " + acked.size() + " with broker-a's master down");
        int consumedDuringOutage = got.size();

        control(ctx, "restart-master-a");
        ctx.progress("100 sends after the restart");
        sendAll(p, topic, "after", 100, acked);
        ctx.await(() -> got.containsAll(acked.keySet()), () -> "consumed " + got.size() + " of " + acked.size() + " after the restart");
        return "sent " + acked.size() + " (" + onA + " of the first 300 on broker-a), 200 SEND_OK during the outage, "
            + consumedDuringOutage + " consumed during the outage, " + deliveries.get() + " deliveries, "
            + (deliveries.get() - got.size()) + " duplicates";
    }
}
