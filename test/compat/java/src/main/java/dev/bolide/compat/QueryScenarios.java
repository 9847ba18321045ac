package dev.bolide.compat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Message lookups through the producer's admin calls: {@code queryMessage} by key (QUERY_MESSAGE,
 * index files), {@code viewMessage} by offset message id (VIEW_MESSAGE_BY_ID), the UNIQ_KEY query
 * ({@code _UNIQUE_KEY_QUERY}) and {@code searchOffset} (SEARCH_OFFSET_BY_TIMESTAMP).
 */
final class QueryScenarios {
    private QueryScenarios() {}

    static void register(Map<String, Main.Scenario> scenarios) {
        scenarios.put("query", QueryScenarios::query);
    }

    static String query(Ctx ctx) throws Exception {
        final int n = 40;
        String topic = ctx.topic();
        DefaultMQProducer p = ctx.producer();
        long begin = System.currentTimeMillis() - 1000;
        List<SendResult> sent = new ArrayList<>();
        ctx.progress("sending " + n + " messages with keys to " + topic);
        for (int i = 0; i < n; i++) {
            Message m = new Message(topic, "TagQ", "order-" + (i % 10) + " k" + i, ("query-" + i).getBytes(StandardCharsets.UTF_8));
            SendResult r = p.send(m);
            Scenarios.checkSent(r, topic, i);
            sent.add(r);
        }
        long end = System.currentTimeMillis() + 1000;

        ctx.progress("queryMessage by key");
        QueryResult byKey = p.queryMessage(topic, "order-3", 32, begin, end);
        List<String> bodies = new ArrayList<>();
        for (MessageExt m : byKey.getMessageList()) {
            bodies.add(new String(m.getBody(), StandardCharsets.UTF_8));
        }
        Collections.sort(bodies);
        Check.that(bodies.equals(List.of("query-13", "query-23", "query-3", "query-33")), "queryMessage(order-3) returned " + bodies);
        Check.that(byKey.getIndexLastUpdateTimestamp() > 0, "indexLastUpdateTimestamp " + byKey.getIndexLastUpdateTimestamp());

        boolean notFound = false;
        try {
            QueryResult none = p.queryMessage(topic, "no-such-key", 32, begin, end);
            notFound = none.getMessageList().isEmpty();
        } catch (Exception e) {
            notFound = Main.describe(e).contains("no message");
        }
        Check.that(notFound, "queryMessage(no-such-key) did not report 'no message'");

        ctx.progress("viewMessage by offset message id");
        SendResult chosen = sent.get(25);
        MessageExt viewed = p.viewMessage(chosen.getOffsetMsgId());
        Check.that("query-25".equals(new String(viewed.getBody(), StandardCharsets.UTF_8)), "viewMessage body " + new String(viewed.getBody(), StandardCharsets.UTF_8));
        Check.that("order-5 k25".equals(viewed.getKeys()), "viewMessage keys " + viewed.getKeys());
        Check.that(topic.equals(viewed.getTopic()), "viewMessage topic " + viewed.getTopic());

        ctx.progress("query by UNIQ_KEY");
        MessageExt byUniq = p.getDefaultMQProducerImpl().queryMessageByUniqKey(topic, sent.get(17).getMsgId());
        Check.that(byUniq != null && "query-17".equals(new String(byUniq.getBody(), StandardCharsets.UTF_8)), "queryMessageByUniqKey returned " + byUniq);

        ctx.progress("searchOffset");
        long offset = p.searchOffset(sent.get(0).getMessageQueue(), begin);
        Check.that(offset == 0, "searchOffset(before the first message) = " + offset);
        return "found 4 by key, viewed by offset id, found by UNIQ_KEY";
    }
}
