package dev.bolide.compat;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;

/** The scenarios. Each uses fresh topic/group names and throws {@link Check.Failure} on a mismatch. */
final class Scenarios {
    private Scenarios() {}

    private static final String[] TAGS3 = {"TagA", "TagB", "TagC"};

    // ---------------------------------------------------------------- helpers

    /** Records per-queue offsets from SendResults and checks they are 0..n-1 without gaps per queue. */
    static final class OffsetTracker {
        private final Map<Integer, Set<Long>> byQueue = new TreeMap<>();

        synchronized void add(SendResult r, int messages) {
            Set<Long> s = byQueue.computeIfAbsent(r.getMessageQueue().getQueueId(), q -> new TreeSet<>());
            for (int i = 0; i < messages; i++) {
                long off = r.getQueueOffset() + i;
                Check.that(s.add(off), "queue " + r.getMessageQueue().getQueueId() + " offset " + off + " returned twice by SEND");
            }
        }

        synchronized String verify() {
            for (Map.Entry<Integer, Set<Long>> e : byQueue.entrySet()) {
                long expect = 0;
                for (long off : e.getValue()) {
                    Check.that(off == expect, "queue " + e.getKey() + ": SendResult offsets not contiguous from 0 (saw "
                            + off + " where " + expect + " was expected)");
                    expect++;
                }
            }
            return byQueue.size() + " queues";
        }
    }

    static void checkSent(SendResult r, String topic, int n) {
        Check.that(r != null, "message " + n + ": null SendResult");
        Check.that(r.getSendStatus() == SendStatus.SEND_OK, "message " + n + ": send status " + r.getSendStatus());
        Check.that(topic.equals(r.getMessageQueue().getTopic()), "message " + n + ": SendResult topic " + r.getMessageQueue().getTopic());
        Check.that(r.getQueueOffset() >= 0, "message " + n + ": SendResult queueOffset " + r.getQueueOffset());
        Check.that(r.getMsgId() != null && !r.getMsgId().isEmpty(), "message " + n + ": SendResult without msgId");
    }

    static void checkDeadline(Ctx ctx, String what) {
        if (ctx.remainingMillis() <= 0) {
            throw Check.fail("timed out while " + what);
        }
    }

    /** Sends messages 0..count-1 synchronously; returns their msgIds. */
    static AtomicReferenceArray<String> sendSync(Ctx ctx, DefaultMQProducer p, Payloads pl, int count, OffsetTracker offsets)
            throws Exception {
        ctx.progress("sending " + count + " messages synchronously to " + pl.topic);
        AtomicReferenceArray<String> ids = new AtomicReferenceArray<>(count);
        for (int n = 0; n < count; n++) {
            checkDeadline(ctx, "sending (" + n + "/" + count + " sent)");
            SendResult r;
            try {
                r = p.send(pl.message(n));
            } catch (Exception e) {
                throw new Check.Failure("send of message " + n + " failed: " + Main.describe(e), e);
            }
            checkSent(r, pl.topic, n);
            ids.set(n, r.getMsgId());
            if (offsets != null) {
                offsets.add(r, 1);
            }
        }
        return ids;
    }

    static String awaitAll(Ctx ctx, Collector... cs) throws InterruptedException {
        ctx.progress("waiting for consumption");
        ctx.await(() -> {
            for (Collector c : cs) {
                if (!c.complete()) {
                    return false;
                }
            }
            return true;
        }, () -> statusOf(cs));
        for (Collector c : cs) {
            c.verify();
        }
        return statusOf(cs);
    }

    static String statusOf(Collector... cs) {
        StringBuilder sb = new StringBuilder();
        for (Collector c : cs) {
            sb.append(sb.length() == 0 ? "" : "; ").append(c.status());
        }
        return sb.toString();
    }

    /** Queues of {@code topic} currently assigned to a push consumer (ignoring its %RETRY% topic). */
    static Set<MessageQueue> assigned(DefaultMQPushConsumer c, String topic) {
        Set<MessageQueue> out = new HashSet<>();
        for (MessageQueue q : c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet()) {
            if (q.getTopic().equals(topic)) {
                out.add(q);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- scenarios

    /** 2,000 synchronous sends (tags, keys, every 10th body > 4 KiB so it is compressed), one push consumer gets all. */
    static String sync(Ctx ctx) throws Exception {
        final int n = 2000;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 10);
        DefaultMQProducer p = ctx.producer();
        OffsetTracker offsets = new OffsetTracker();
        AtomicReferenceArray<String> ids = sendSync(ctx, p, pl, n, offsets);
        String queues = offsets.verify();
        Collector c = new Collector("consumer", pl, n, null);
        c.sentMsgIds = ids;
        ctx.pushConsumer(ctx.group("CG"), topic, "*", MessageModel.CLUSTERING, c);
        return "sent " + n + " over " + queues + "; " + awaitAll(ctx, c);
    }

    /** 1,000 async sends with a SendCallback; every callback succeeds and every message is consumed. */
    static String async(Ctx ctx) throws Exception {
        final int n = 1000;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 25);
        DefaultMQProducer p = ctx.producer();
        AtomicReferenceArray<String> ids = new AtomicReferenceArray<>(n);
        CountDownLatch done = new CountDownLatch(n);
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        OffsetTracker offsets = new OffsetTracker();
        ctx.progress("sending " + n + " messages asynchronously to " + topic);
        for (int i = 0; i < n; i++) {
            final int id = i;
            p.send(pl.message(id), new SendCallback() {
                @Override
                public void onSuccess(SendResult r) {
                    try {
                        checkSent(r, topic, id);
                        offsets.add(r, 1);
                        ids.set(id, r.getMsgId());
                        ok.incrementAndGet();
                    } catch (Throwable e) {
                        failed.incrementAndGet();
                        if (errors.size() < 5) {
                            errors.add(Main.describe(e));
                        }
                    } finally {
                        done.countDown();
                    }
                }

                @Override
                public void onException(Throwable e) {
                    failed.incrementAndGet();
                    if (errors.size() < 2) {
                        errors.add("message " + id + ": " + Main.describe(e));
                    }
                    done.countDown();
                }
            });
        }
        ctx.await(() -> done.getCount() == 0,
                () -> (n - done.getCount()) + "/" + n + " send callbacks (" + ok.get() + " ok, " + failed.get() + " failed " + errors + ")");
        Check.that(failed.get() == 0, failed.get() + "/" + n + " async sends failed, e.g. " + errors);
        String queues = offsets.verify();
        Collector c = new Collector("consumer", pl, n, null);
        c.sentMsgIds = ids;
        ctx.pushConsumer(ctx.group("CG"), topic, "*", MessageModel.CLUSTERING, c);
        return n + " callbacks ok over " + queues + "; " + awaitAll(ctx, c);
    }

    /** 500 oneway sends, all consumed. */
    static String oneway(Ctx ctx) throws Exception {
        final int n = 500;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 50);
        DefaultMQProducer p = ctx.producer();
        ctx.progress("sending " + n + " oneway messages to " + topic);
        for (int i = 0; i < n; i++) {
            checkDeadline(ctx, "sending oneway (" + i + "/" + n + ")");
            p.sendOneway(pl.message(i));
        }
        Collector c = new Collector("consumer", pl, n, null);
        ctx.pushConsumer(ctx.group("CG"), topic, "*", MessageModel.CLUSTERING, c);
        return awaitAll(ctx, c);
    }

    /** Two consumer groups on one topic each receive all 500 messages. */
    static String pubsub(Ctx ctx) throws Exception {
        final int n = 500;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 50);
        DefaultMQProducer p = ctx.producer();
        AtomicReferenceArray<String> ids = sendSync(ctx, p, pl, n, null);
        Collector a = new Collector("group1", pl, n, null);
        Collector b = new Collector("group2", pl, n, null);
        a.sentMsgIds = ids;
        b.sentMsgIds = ids;
        ctx.pushConsumer(ctx.group("CG1"), topic, "*", MessageModel.CLUSTERING, a);
        ctx.pushConsumer(ctx.group("CG2"), topic, "*", MessageModel.CLUSTERING, b);
        return awaitAll(ctx, a, b);
    }

    /**
     * Two push consumers in one group split the topic's queues (rebalance via GET_CONSUMER_LIST_BY_GROUP);
     * together they receive all 1,000 messages and each receives some. Duplicates are reported, not failed.
     */
    static String clustering(Ctx ctx) throws Exception {
        final int n = 1000;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 50);
        DefaultMQProducer p = ctx.producer();
        // Create the topic first (auto-creation via TBW102) so both consumers can rebalance before the load.
        ctx.progress("creating " + topic + " with a warm-up message");
        SendResult warm = p.send(new Message(topic, "Warmup", Main.utf8("warmup")));
        checkSent(warm, topic, -1);
        int queueCount = p.fetchPublishMessageQueues(topic).size();
        Check.that(queueCount >= 2, "topic has " + queueCount + " queues; need at least 2 to split");

        String group = ctx.group("CG");
        Collector ca = new Collector("consumer1", pl, n, null);
        Collector cb = new Collector("consumer2", pl, n, null);
        DefaultMQPushConsumer a = ctx.pushConsumer(group, topic, "*", MessageModel.CLUSTERING, ca);
        DefaultMQPushConsumer b = ctx.pushConsumer(group, topic, "*", MessageModel.CLUSTERING, cb);

        ctx.progress("waiting for the two consumers to split " + queueCount + " queues");
        boolean split = ctx.awaitFor(() -> {
            Set<MessageQueue> qa = assigned(a, topic);
            Set<MessageQueue> qb = assigned(b, topic);
            if (qa.isEmpty() || qb.isEmpty() || qa.size() + qb.size() != queueCount) {
                return false;
            }
            qa.retainAll(qb);
            return qa.isEmpty();
        }, 30_000);
        Check.that(split, "consumers did not split the queues within 30 s: consumer1 has " + queueIds(assigned(a, topic))
                + ", consumer2 has " + queueIds(assigned(b, topic)) + " of " + queueCount
                + " (the broker must list both clientIds for GET_CONSUMER_LIST_BY_GROUP)");
        String assignment = "queues " + queueIds(assigned(a, topic)) + " / " + queueIds(assigned(b, topic));

        sendSync(ctx, p, pl, n, null);
        ctx.progress("waiting for consumption");
        ctx.await(() -> union(ca, cb) >= n, () -> "together " + union(ca, cb) + "/" + n + "; " + statusOf(ca, cb));
        Check.that(ca.errorCount.get() == 0 && cb.errorCount.get() == 0, "content errors: " + statusOf(ca, cb));
        Check.that(ca.distinct.get() > 0 && cb.distinct.get() > 0,
                "one consumer received nothing: " + statusOf(ca, cb));
        int both = 0;
        for (int i = 0; i < n; i++) {
            if (ca.hitsOf(i) > 0 && cb.hitsOf(i) > 0) {
                both++;
            }
        }
        return assignment + "; consumer1 " + ca.distinct.get() + ", consumer2 " + cb.distinct.get()
                + ", delivered to both: " + both + ", duplicates total: " + (ca.duplicates() + cb.duplicates() + both);
    }

    static int union(Collector a, Collector b) {
        int u = 0;
        for (int i = 0; i < a.count; i++) {
            if (a.hitsOf(i) > 0 || b.hitsOf(i) > 0) {
                u++;
            }
        }
        return u;
    }

    static String queueIds(Collection<MessageQueue> qs) {
        List<Integer> ids = new ArrayList<>();
        for (MessageQueue q : qs) {
            ids.add(q.getQueueId());
        }
        ids.sort(null);
        return ids.toString();
    }

    /** Two BROADCASTING consumers in one group each receive all 500 messages. */
    static String broadcasting(Ctx ctx) throws Exception {
        final int n = 500;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 50);
        DefaultMQProducer p = ctx.producer();
        AtomicReferenceArray<String> ids = sendSync(ctx, p, pl, n, null);
        String group = ctx.group("CG");
        Collector a = new Collector("consumer1", pl, n, null);
        Collector b = new Collector("consumer2", pl, n, null);
        a.sentMsgIds = ids;
        b.sentMsgIds = ids;
        ctx.pushConsumer(group, topic, "*", MessageModel.BROADCASTING, a);
        ctx.pushConsumer(group, topic, "*", MessageModel.BROADCASTING, b);
        return awaitAll(ctx, a, b);
    }

    /** Subscribe "TagA || TagB" on a topic carrying TagA..TagD: exactly the TagA/TagB messages arrive. */
    static String tags(Ctx ctx) throws Exception {
        final int n = 500;
        String topic = ctx.topic();
        String[] tags = {"TagA", "TagB", "TagC", "TagD"};
        Payloads pl = new Payloads(topic, ctx.suffix, tags, 50);
        DefaultMQProducer p = ctx.producer();
        sendSync(ctx, p, pl, n, null);
        BitSet want = new BitSet(n);
        for (int i = 0; i < n; i++) {
            String t = pl.tag(i);
            if (t.equals("TagA") || t.equals("TagB")) {
                want.set(i);
            }
        }
        Collector c = new Collector("consumer", pl, n, want);
        ctx.pushConsumer(ctx.group("CG"), topic, "TagA || TagB", MessageModel.CLUSTERING, c);
        String s = awaitAll(ctx, c);
        // linger briefly: nothing outside the subscription may show up afterwards either
        Thread.sleep(Math.min(1500, Math.max(0, ctx.remainingMillis())));
        Check.that(c.unexpected.get() == 0, "received messages outside the subscription: " + c.status());
        return s;
    }

    /** DefaultLitePullConsumer subscribe + poll gets all 500 messages. */
    static String litepull(Ctx ctx) throws Exception {
        final int n = 500;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 50);
        DefaultMQProducer p = ctx.producer();
        AtomicReferenceArray<String> ids = sendSync(ctx, p, pl, n, null);
        Collector c = new Collector("litepull", pl, n, null);
        c.sentMsgIds = ids;
        DefaultLitePullConsumer lc = ctx.litePullConsumer(ctx.group("CG"));
        lc.subscribe(topic, "*");
        lc.start();
        ctx.onClose(lc::shutdown);
        ctx.progress("polling");
        int polls = 0;
        while (!c.complete()) {
            checkDeadline(ctx, "polling: " + c.status() + " after " + polls + " polls");
            List<MessageExt> msgs = lc.poll(1000);
            polls++;
            for (MessageExt m : msgs) {
                c.accept(m);
            }
        }
        c.verify();
        return c.status() + " in " + polls + " polls";
    }

    /** producer.send(Collection) with 5 batches of 100; all 500 consumed. */
    static String batch(Ctx ctx) throws Exception {
        final int batches = 5;
        final int size = 100;
        final int n = batches * size;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 0);
        DefaultMQProducer p = ctx.producer();
        AtomicReferenceArray<String> ids = new AtomicReferenceArray<>(n);
        OffsetTracker offsets = new OffsetTracker();
        ctx.progress("sending " + batches + " batches of " + size + " to " + topic);
        for (int b = 0; b < batches; b++) {
            List<Message> batch = new ArrayList<>(size);
            for (int i = 0; i < size; i++) {
                batch.add(pl.message(b * size + i));
            }
            SendResult r;
            try {
                r = p.send(batch);
            } catch (Exception e) {
                throw new Check.Failure("batch " + b + " failed: " + Main.describe(e), e);
            }
            checkSent(r, topic, b * size);
            offsets.add(r, size);
            String[] msgIds = r.getMsgId().split(",");
            Check.that(msgIds.length == size, "batch " + b + ": SendResult has " + msgIds.length + " msgIds, want " + size);
            for (int i = 0; i < size; i++) {
                ids.set(b * size + i, msgIds[i]);
            }
        }
        String queues = offsets.verify();
        Collector c = new Collector("consumer", pl, n, null);
        c.sentMsgIds = ids;
        ctx.pushConsumer(ctx.group("CG"), topic, "*", MessageModel.CLUSTERING, c);
        return "batches over " + queues + "; " + awaitAll(ctx, c);
    }
}
