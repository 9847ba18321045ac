package dev.bolide.compat;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;

/**
 * Scenarios beyond the core set: ordered consumption (queue locks), delayed delivery, consumer retry
 * (send-back + %RETRY% topic), transactional messages and resuming from committed offsets.
 */
final class ExtendedScenarios {
    private ExtendedScenarios() {}

    private static final String[] TAGS3 = {"TagA", "TagB", "TagC"};

    /**
     * 600 messages over 12 order keys sent with a MessageQueueSelector (key % queues); a
     * MessageListenerOrderly consumer (LOCK_BATCH_MQ) must see every key's sequence in send order.
     */
    static String order(Ctx ctx) throws Exception {
        final int n = 600;
        final int keys = 12;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 50);
        DefaultMQProducer p = ctx.producer();
        ctx.progress("sending " + n + " ordered messages to " + topic);
        for (int i = 0; i < n; i++) {
            Scenarios.checkDeadline(ctx, "sending (" + i + "/" + n + ")");
            SendResult r = p.send(pl.message(i), (mqs, msg, arg) -> mqs.get((Integer) arg % mqs.size()), i % keys);
            Scenarios.checkSent(r, topic, i);
        }
        Collector c = new Collector("orderly consumer", pl, n, null);
        int[] lastSeen = new int[keys];
        java.util.Arrays.fill(lastSeen, -1);
        ConcurrentLinkedQueue<String> orderErrors = new ConcurrentLinkedQueue<>();
        AtomicInteger outOfOrder = new AtomicInteger();
        ctx.pushConsumer(ctx.group("CG"), topic, "*", MessageModel.CLUSTERING, (MessageListenerOrderly) (msgs, context) -> {
            for (MessageExt m : msgs) {
                int id = pl.idOf(m.getBody());
                if (id >= 0 && id < n) {
                    int key = id % keys;
                    synchronized (lastSeen) {
                        if (id <= lastSeen[key] && c.hitsOf(id) == 0) {
                            outOfOrder.incrementAndGet();
                            if (orderErrors.size() < 5) {
                                orderErrors.add("key " + key + ": message " + id + " after " + lastSeen[key]);
                            }
                        }
                        lastSeen[key] = Math.max(lastSeen[key], id);
                    }
                }
                c.accept(m);
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        String s = Scenarios.awaitAll(ctx, c);
        Check.that(outOfOrder.get() == 0, outOfOrder.get() + " messages out of order, e.g. " + orderErrors);
        return s;
    }

    /**
     * The ordered-consumption acceptance test of issue 6, smaller: 3 producers send 3,000 messages
     * over 50 order keys (each key from one producer, in sequence) with a MessageQueueSelector;
     * 3 MessageListenerOrderly consumers of one group join and leave while messages flow. Every
     * message must arrive, each key's first deliveries in send order (repeats only as re-delivery),
     * and no two consumers may be in the listener for the same queue at once. Java clients hand a
     * queue over only after a delayed unlock and a rebalance (up to ~40 s), so run it with a longer
     * timeout: COMPAT_TIMEOUT=150 COMPAT_SCENARIOS=order_churn bash test/compat/run.sh
     */
    static String orderChurn(Ctx ctx) throws Exception {
        final int n = Integer.getInteger("compat.churn.messages", 3000); // the acceptance run: 10000
        final int keys = 50;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 50);
        String group = ctx.group("CG");
        Collector c = new Collector("orderly consumers", pl, n, null);
        int[] lastSeen = new int[keys];
        java.util.Arrays.fill(lastSeen, -1);
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        AtomicInteger outOfOrder = new AtomicInteger();
        java.util.concurrent.ConcurrentHashMap<Integer, String> inListener = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.function.Function<String, MessageListenerOrderly> listener = name -> (msgs, context) -> {
            int queueId = context.getMessageQueue().getQueueId();
            String other = inListener.putIfAbsent(queueId, name);
            if (other != null && errors.size() < 5) errors.add("queue " + queueId + ": " + name + " entered while " + other + " was in the listener");
            try {
                for (MessageExt m : msgs) {
                    int id = pl.idOf(m.getBody());
                    if (id >= 0 && id < n) {
                        int key = id % keys;
                        synchronized (lastSeen) {
                            if (id <= lastSeen[key] && c.hitsOf(id) == 0) {
                                outOfOrder.incrementAndGet();
                                if (errors.size() < 5) errors.add("key " + key + ": message " + id + " after " + lastSeen[key]);
                            }
                            lastSeen[key] = Math.max(lastSeen[key], id);
                        }
                    }
                    c.accept(m);
                }
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                inListener.remove(queueId, name);
            }
            return ConsumeOrderlyStatus.SUCCESS;
        };
        DefaultMQPushConsumer c1 = ctx.pushConsumer(group, topic, "*", MessageModel.CLUSTERING, listener.apply("c1"));
        DefaultMQProducer[] producers = {ctx.producer(), ctx.producer(), ctx.producer()};
        ctx.progress("3 producers sending " + n + " messages over " + keys + " keys");
        List<Thread> senders = new ArrayList<>();
        ConcurrentLinkedQueue<Exception> sendErrors = new ConcurrentLinkedQueue<>();
        for (int p = 0; p < 3; p++) {
            final int me = p;
            Thread t = new Thread(() -> {
                try {
                    for (int id = 0; id < n; id++) {
                        if ((id % keys) % 3 != me) continue;
                        SendResult r = producers[me].send(pl.message(id), (mqs, msg, arg) -> mqs.get((Integer) arg % mqs.size()), id % keys);
                        if (r.getSendStatus() != SendStatus.SEND_OK) throw new IllegalStateException("message " + id + ": " + r.getSendStatus());
                        if (id % 10 == 0) Thread.sleep(1);
                    }
                } catch (Exception e) {
                    sendErrors.add(e);
                }
            });
            t.start();
            senders.add(t);
        }
        ctx.await(() -> c.distinct.get() >= n / 5, () -> "first fifth: " + c.status());
        ctx.progress("second consumer joins");
        ctx.pushConsumer(group, topic, "*", MessageModel.CLUSTERING, listener.apply("c2"));
        ctx.await(() -> c.distinct.get() >= 2 * n / 5, () -> "second fifth: " + c.status());
        ctx.progress("third consumer joins");
        ctx.pushConsumer(group, topic, "*", MessageModel.CLUSTERING, listener.apply("c3"));
        ctx.await(() -> c.distinct.get() >= 3 * n / 5, () -> "third fifth: " + c.status());
        ctx.progress("first consumer leaves");
        c1.shutdown();
        for (Thread t : senders) t.join();
        Check.that(sendErrors.isEmpty(), "send failed: " + sendErrors.peek());
        String s = Scenarios.awaitAll(ctx, c);
        Check.that(outOfOrder.get() == 0 && errors.isEmpty(), outOfOrder.get() + " out of order; " + errors);
        return s;
    }

    /** 100 messages with delayTimeLevel 1 (1 s) arrive, none earlier than ~1 s after they were sent. */
    static String delay(Ctx ctx) throws Exception {
        final int n = 100;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 50);
        DefaultMQProducer p = ctx.producer();
        AtomicLongArray sentAt = new AtomicLongArray(n);
        ctx.progress("sending " + n + " messages with delayTimeLevel=1 to " + topic);
        for (int i = 0; i < n; i++) {
            Message m = pl.message(i);
            m.setDelayTimeLevel(1);
            sentAt.set(i, System.currentTimeMillis());
            SendResult r = p.send(m);
            Scenarios.checkSent(r, topic, i);
        }
        Collector c = new Collector("consumer", pl, n, null);
        AtomicInteger early = new AtomicInteger();
        ConcurrentLinkedQueue<String> earlyExamples = new ConcurrentLinkedQueue<>();
        ctx.pushConsumer(ctx.group("CG"), topic, "*", MessageModel.CLUSTERING, (MessageListenerConcurrently) (msgs, context) -> {
            long now = System.currentTimeMillis();
            for (MessageExt m : msgs) {
                int id = pl.idOf(m.getBody());
                if (id >= 0 && id < n && now - sentAt.get(id) < 900) {
                    early.incrementAndGet();
                    if (earlyExamples.size() < 3) {
                        earlyExamples.add("message " + id + " after " + (now - sentAt.get(id)) + " ms");
                    }
                }
                c.accept(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        String s = Scenarios.awaitAll(ctx, c);
        Check.that(early.get() == 0, early.get() + " delayed messages arrived before 1 s, e.g. " + earlyExamples);
        return s;
    }

    /**
     * The consumer answers RECONSUME_LATER to the first delivery of each of 20 messages; every message
     * must come back (CONSUMER_SEND_MSG_BACK, %RETRY% topic, delay level 3 = 10 s) with reconsumeTimes 1.
     */
    static String retry(Ctx ctx) throws Exception {
        final int n = 20;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 7);
        DefaultMQProducer p = ctx.producer();
        Scenarios.sendSync(ctx, p, pl, n, null);
        Collector first = new Collector("first deliveries", pl, n, null);
        Collector again = new Collector("redeliveries", pl, n, null);
        again.expectReconsumeTimes = 1;
        AtomicLongArray firstAt = new AtomicLongArray(n);
        AtomicLongArray againAt = new AtomicLongArray(n);
        ctx.pushConsumer(ctx.group("CG"), topic, "*", MessageModel.CLUSTERING, (MessageListenerConcurrently) (msgs, context) -> {
            boolean later = false;
            long now = System.currentTimeMillis();
            for (MessageExt m : msgs) {
                int id = pl.idOf(m.getBody());
                if (m.getReconsumeTimes() == 0) {
                    if (id >= 0 && id < n) {
                        firstAt.compareAndSet(id, 0, now);
                    }
                    first.accept(m);
                    later = true;
                } else {
                    if (id >= 0 && id < n) {
                        againAt.compareAndSet(id, 0, now);
                    }
                    again.accept(m);
                }
            }
            return later ? ConsumeConcurrentlyStatus.RECONSUME_LATER : ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        ctx.progress("waiting for first deliveries");
        ctx.await(first::complete, first::status);
        ctx.progress("waiting for redeliveries (retry delay level 3 = 10 s)");
        String s = Scenarios.awaitAll(ctx, first, again);
        long min = Long.MAX_VALUE;
        long max = 0;
        for (int i = 0; i < n; i++) {
            long d = againAt.get(i) - firstAt.get(i);
            min = Math.min(min, d);
            max = Math.max(max, d);
        }
        // RocketMQ redelivers the first retry at delay level 3 (10 s); allow timer slack.
        Check.that(min >= 9000, "redelivered too early: first retry came " + min + ".." + max
                + " ms after the first delivery; RocketMQ waits 10 s (delay level 3 = 3 + reconsumeTimes)");
        return s + "; redelivered after " + min + ".." + max + " ms";
    }

    /**
     * 100 transactional messages: even ones COMMIT_MESSAGE, odd ones ROLLBACK_MESSAGE in
     * executeLocalTransaction (END_TRANSACTION); a consumer must get exactly the committed half.
     */
    static String transaction(Ctx ctx) throws Exception {
        final int n = 100;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 10);
        AtomicInteger checks = new AtomicInteger();
        TransactionListener listener = new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return ((Integer) arg) % 2 == 0 ? LocalTransactionState.COMMIT_MESSAGE : LocalTransactionState.ROLLBACK_MESSAGE;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                checks.incrementAndGet();
                int id = pl.idOf(msg.getBody());
                return id >= 0 && id % 2 == 0 ? LocalTransactionState.COMMIT_MESSAGE : LocalTransactionState.ROLLBACK_MESSAGE;
            }
        };
        TransactionMQProducer p = ctx.transactionProducer(listener);
        ctx.progress("sending " + n + " transactional messages to " + topic);
        for (int i = 0; i < n; i++) {
            Scenarios.checkDeadline(ctx, "sending (" + i + "/" + n + ")");
            TransactionSendResult r = p.sendMessageInTransaction(pl.message(i), i);
            Check.that(r.getSendStatus() == SendStatus.SEND_OK, "half message " + i + ": send status " + r.getSendStatus());
            LocalTransactionState want = i % 2 == 0 ? LocalTransactionState.COMMIT_MESSAGE : LocalTransactionState.ROLLBACK_MESSAGE;
            Check.that(r.getLocalTransactionState() == want, "message " + i + ": local state " + r.getLocalTransactionState());
        }
        BitSet committed = new BitSet(n);
        for (int i = 0; i < n; i += 2) {
            committed.set(i);
        }
        Collector c = new Collector("consumer", pl, n, committed);
        ctx.pushConsumer(ctx.group("CG"), topic, "*", MessageModel.CLUSTERING, c);
        String s = Scenarios.awaitAll(ctx, c);
        Thread.sleep(Math.min(2000, Math.max(0, ctx.remainingMillis())));
        Check.that(c.unexpected.get() == 0, "rolled-back messages were delivered: " + c.status());
        return s + ", " + checks.get() + " transaction checks";
    }

    /**
     * Check-back with the broker's short test timings (run.sh: transactionTimeOut 1 s,
     * transactionCheckInterval 1 s, transactionCheckMax 3). Every send answers UNKNOW:
     * ids 0-4 are committed by the check-back; ids 5-9 come from a second producer of the group
     * that shuts down before any check, so the first producer answers their checks (commit);
     * ids 10-14 stay UNKNOW on every check and must be given up (rolled back) after
     * transactionCheckMax checks: never delivered, and their checks stop.
     */
    static String transactionCheck(Ctx ctx) throws Exception {
        final int n = 15;
        final int checkMax = 3;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 10);
        AtomicIntegerArray checks = new AtomicIntegerArray(n);
        TransactionListener answering = new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                int id = pl.idOf(msg.getBody());
                if (id < 0 || id >= n) {
                    return LocalTransactionState.ROLLBACK_MESSAGE;
                }
                checks.incrementAndGet(id);
                return id < 10 ? LocalTransactionState.COMMIT_MESSAGE : LocalTransactionState.UNKNOW;
            }
        };
        TransactionListener dying = new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                throw new IllegalStateException("a producer that was shut down was asked to check");
            }
        };
        TransactionMQProducer first = ctx.transactionProducer(answering);
        TransactionMQProducer second = ctx.transactionProducer(dying);
        ctx.progress("sending " + n + " transactional messages (all UNKNOW) to " + topic);
        int[] order = {5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 10, 11, 12, 13, 14};
        for (int i : order) {
            TransactionMQProducer p = i >= 5 && i < 10 ? second : first;
            TransactionSendResult r = p.sendMessageInTransaction(pl.message(i), i);
            Check.that(r.getSendStatus() == SendStatus.SEND_OK, "half message " + i + ": send status " + r.getSendStatus());
            Check.that(r.getLocalTransactionState() == LocalTransactionState.UNKNOW, "message " + i + ": local state " + r.getLocalTransactionState());
            if (i == 9) {
                second.shutdown(); // dies before any check (1 s timeout): the group's other producer must be asked
            }
        }
        BitSet committed = new BitSet(n);
        committed.set(0, 10);
        Collector c = new Collector("consumer", pl, n, committed);
        ctx.pushConsumer(ctx.group("CG"), topic, "*", MessageModel.CLUSTERING, c);
        String s = Scenarios.awaitAll(ctx, c);
        ctx.progress("waiting for the UNKNOW messages to be given up after " + checkMax + " checks");
        int[] seen = new int[n];
        long stableSince = System.currentTimeMillis();
        while (System.currentTimeMillis() - stableSince < 4000) {
            Scenarios.checkDeadline(ctx, "waiting for checks of ids 10-14 to stop");
            boolean changed = false;
            for (int i = 10; i < n; i++) {
                int now = checks.get(i);
                if (now != seen[i] || now < checkMax) {
                    changed |= now != seen[i];
                    seen[i] = now;
                }
            }
            boolean allChecked = true;
            for (int i = 10; i < n; i++) {
                allChecked &= seen[i] >= checkMax;
            }
            if (changed || !allChecked) {
                stableSince = System.currentTimeMillis();
            }
            Thread.sleep(200);
        }
        for (int i = 10; i < n; i++) {
            Check.that(seen[i] >= checkMax && seen[i] <= checkMax + 1, "message " + i + " was checked " + seen[i] + " times; want " + checkMax + " then given up");
        }
        for (int i = 5; i < 10; i++) {
            Check.that(checks.get(i) >= 1, "message " + i + " (its producer died) was never checked with the other producer");
        }
        Check.that(c.unexpected.get() == 0, "given-up messages were delivered: " + c.status());
        StringBuilder counts = new StringBuilder();
        for (int i = 0; i < n; i++) {
            counts.append(i == 0 ? "" : ",").append(checks.get(i));
        }
        return s + "; checks per message [" + counts + "]";
    }

    /**
     * Offsets survive a consumer restart: consume 200, shut the consumer down (it commits offsets),
     * send 200 more, start a new consumer in the same group: it must get the new 200 and none of the old.
     */
    static String resume(Ctx ctx) throws Exception {
        final int half = 200;
        final int n = half * 2;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 40);
        DefaultMQProducer p = ctx.producer();
        AtomicReferenceArray<String> ids = new AtomicReferenceArray<>(n);
        ctx.progress("sending the first " + half + " messages");
        for (int i = 0; i < half; i++) {
            SendResult r = p.send(pl.message(i));
            Scenarios.checkSent(r, topic, i);
            ids.set(i, r.getMsgId());
        }
        String group = ctx.group("CG");
        BitSet firstHalf = new BitSet(n);
        firstHalf.set(0, half);
        Collector c1 = new Collector("first consumer", pl, n, firstHalf);
        c1.sentMsgIds = ids;
        DefaultMQPushConsumer first = ctx.pushConsumer(group, topic, "*", MessageModel.CLUSTERING, c1);
        Scenarios.awaitAll(ctx, c1);
        ctx.progress("shutting the first consumer down");
        first.shutdown(); // persists offsets (UPDATE_CONSUMER_OFFSET) and unregisters

        ctx.progress("sending the second " + half + " messages");
        for (int i = half; i < n; i++) {
            SendResult r = p.send(pl.message(i));
            Scenarios.checkSent(r, topic, i);
            ids.set(i, r.getMsgId());
        }
        BitSet secondHalf = new BitSet(n);
        secondHalf.set(half, n);
        Collector c2 = new Collector("second consumer", pl, n, secondHalf);
        c2.sentMsgIds = ids;
        ctx.pushConsumer(group, topic, "*", MessageModel.CLUSTERING, c2);
        String s = Scenarios.awaitAll(ctx, c2);
        Thread.sleep(Math.min(1000, Math.max(0, ctx.remainingMillis())));
        Check.that(c2.unexpected.get() == 0, "messages consumed before the restart were delivered again "
                + "(committed offsets not honoured): " + c2.status());
        return s;
    }

    /**
     * A consumer with maxReconsumeTimes = 1 refuses 5 messages every time: each is delivered with
     * reconsumeTimes 0, then (10 s later, level 3) 1, then goes to %DLQ%<group>, where a consumer of
     * that topic finds it with reconsumeTimes 2 and RETRY_TOPIC = the original topic.
     */
    static String dlq(Ctx ctx) throws Exception {
        final int n = 5;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 11);
        DefaultMQProducer p = ctx.producer();
        Scenarios.sendSync(ctx, p, pl, n, null);
        String group = ctx.group("CG");
        AtomicInteger firsts = new AtomicInteger();
        AtomicInteger seconds = new AtomicInteger();
        AtomicInteger others = new AtomicInteger();
        ctx.pushConsumer(group, MessageModel.CLUSTERING, (MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                if (m.getReconsumeTimes() == 0) firsts.incrementAndGet();
                else if (m.getReconsumeTimes() == 1) seconds.incrementAndGet();
                else others.incrementAndGet();
            }
            return ConsumeConcurrentlyStatus.RECONSUME_LATER;
        }, c -> {
            c.setMaxReconsumeTimes(1);
            c.subscribe(topic, "*");
        });
        java.util.Set<Integer> dead = java.util.concurrent.ConcurrentHashMap.newKeySet();
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        ctx.pushConsumer(ctx.group("DLQ"), "%DLQ%" + group, "*", MessageModel.CLUSTERING, (MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                if (m.getReconsumeTimes() != 2) problems.add("a dead letter has reconsumeTimes " + m.getReconsumeTimes() + ", RocketMQ gives 2");
                if (!topic.equals(m.getProperty("RETRY_TOPIC"))) problems.add("a dead letter's RETRY_TOPIC is " + m.getProperty("RETRY_TOPIC"));
                int id = pl.idOf(m.getBody());
                if (id >= 0 && id < n) dead.add(id);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        ctx.progress("waiting for first deliveries, retries (10 s) and dead letters");
        ctx.await(() -> dead.size() == n, () -> "first " + firsts.get() + ", retries " + seconds.get() + ", more " + others.get() + "; dead letters " + dead.size() + "/" + n);
        Check.that(problems.isEmpty(), String.valueOf(problems.peek()));
        Thread.sleep(1500);
        Check.that(firsts.get() >= n && seconds.get() >= n, "expected " + n + " first deliveries and " + n + " retries, got " + firsts.get() + " and " + seconds.get());
        Check.that(others.get() == 0, others.get() + " deliveries beyond maxReconsumeTimes");
        return "first " + firsts.get() + ", retries " + seconds.get() + ", dead letters " + dead.size() + "/" + n;
    }

    /**
     * 200 messages with user property cid = 0..199; a consumer subscribed with
     * MessageSelector.bySql("cid >= 100 AND cid < 150 AND scenario IS NOT NULL") gets exactly those 50.
     */
    static String sql92(Ctx ctx) throws Exception {
        final int n = 200;
        String topic = ctx.topic();
        Payloads pl = new Payloads(topic, ctx.suffix, TAGS3, 1000);
        DefaultMQProducer p = ctx.producer();
        Scenarios.sendSync(ctx, p, pl, n, null);
        BitSet want = new BitSet(n);
        want.set(100, 150);
        Collector c = new Collector("sql92 consumer", pl, n, want);
        ctx.pushConsumer(ctx.group("CG"), MessageModel.CLUSTERING, (MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) c.accept(m);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        }, consumer -> consumer.subscribe(topic, org.apache.rocketmq.client.consumer.MessageSelector.bySql("cid >= 100 AND cid < 150 AND scenario IS NOT NULL")));
        ctx.await(() -> c.distinct.get() >= 50, c::status);
        Thread.sleep(1500);
        Check.that(c.unexpected.get() == 0 && c.distinct.get() == 50, "expected exactly messages 100..149: " + c.status());
        return c.status();
    }

    static List<String> names() {
        List<String> l = new ArrayList<>();
        l.add("order");
        l.add("delay");
        l.add("retry");
        l.add("transaction");
        l.add("resume");
        l.add("dlq");
        l.add("sql92");
        return l;
    }

    static void register(Map<String, Main.Scenario> m) {
        m.put("order", ExtendedScenarios::order);
        m.put("order_churn", ExtendedScenarios::orderChurn);
        m.put("delay", ExtendedScenarios::delay);
        m.put("retry", ExtendedScenarios::retry);
        m.put("transaction", ExtendedScenarios::transaction);
        m.put("transaction_check", ExtendedScenarios::transactionCheck);
        m.put("resume", ExtendedScenarios::resume);
        m.put("dlq", ExtendedScenarios::dlq);
        m.put("sql92", ExtendedScenarios::sql92);
    }
}
