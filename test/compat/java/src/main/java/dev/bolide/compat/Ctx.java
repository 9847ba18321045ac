package dev.bolide.compat;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListener;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.remoting.RPCHook;

/** Per-scenario context: name server address, deadline, unique names and the clients to close. */
final class Ctx {
    private static final AtomicInteger SEQ = new AtomicInteger();
    private static final String PID = ManagementFactory.getRuntimeMXBean().getName().split("@")[0];

    final String namesrv;
    final String scenario;
    final long deadlineNanos;
    final String suffix = Main.uniqueSuffix();
    volatile String progress = "starting";

    private final List<Runnable> closers = new ArrayList<>();

    Ctx(String namesrv, String scenario, long deadlineNanos) {
        this.namesrv = namesrv;
        this.scenario = scenario;
        this.deadlineNanos = deadlineNanos;
    }

    /** Fresh topic name (letters, digits, '_' and '-' only; max 127 chars). */
    String topic() {
        return "Compat_" + scenario + "_" + suffix;
    }

    String group(String role) {
        return "Compat_" + role + "_" + scenario + "_" + suffix;
    }

    String instanceName() {
        return "compat-" + PID + "-" + scenario + "-" + SEQ.incrementAndGet();
    }

    void progress(String s) {
        progress = s;
        System.err.println("[compat " + scenario + "] " + s);
    }

    long remainingMillis() {
        return TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
    }

    /** Polls {@code cond} every 20 ms until it holds or the scenario deadline passes. */
    void await(BooleanSupplier cond, Supplier<String> whatOnTimeout) throws InterruptedException {
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadlineNanos) {
                throw Check.fail("timed out: " + whatOnTimeout.get());
            }
            Thread.sleep(20);
        }
    }

    /** Like {@link #await} but with its own limit (still bounded by the scenario deadline). */
    boolean awaitFor(BooleanSupplier cond, long millis) throws InterruptedException {
        long until = Math.min(deadlineNanos, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis));
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > until) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    DefaultMQProducer producer() throws Exception {
        return producer(group("PG"), null);
    }

    /** A started producer; {@code hook} (e.g. AclClientRPCHook) sees every request, null for none. */
    DefaultMQProducer producer(String group, RPCHook hook) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(group, hook);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName(instanceName());
        p.setClientIP("127.0.0.1");
        p.setSendMsgTimeout(10000);
        p.setPollNameServerInterval(1000);
        p.setHeartbeatBrokerInterval(5000);
        p.setRetryTimesWhenSendFailed(2);
        p.setRetryTimesWhenSendAsyncFailed(2);
        p.start();
        onClose(p::shutdown);
        return p;
    }

    DefaultMQPushConsumer pushConsumer(String group, String topic, String expr, MessageModel model,
                                       Collector collector) throws Exception {
        return pushConsumer(group, topic, expr, model, (MessageListenerConcurrently) (msgs, context) -> {
            for (MessageExt m : msgs) {
                collector.accept(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
    }

    /** Settings a scenario adds to a push consumer before it starts (selector, retries, …). */
    interface ConsumerSetup {
        void apply(DefaultMQPushConsumer consumer) throws Exception;
    }

    /** A started push consumer with the given listener (concurrent or orderly). */
    DefaultMQPushConsumer pushConsumer(String group, String topic, String expr, MessageModel model,
                                       MessageListener listener) throws Exception {
        return pushConsumer(group, model, listener, c -> c.subscribe(topic, expr));
    }

    /** A started push consumer; `setup` subscribes it and may change any other setting. */
    DefaultMQPushConsumer pushConsumer(String group, MessageModel model, MessageListener listener,
                                       ConsumerSetup setup) throws Exception {
        return pushConsumer(group, null, model, listener, setup);
    }

    /** As above, with an RPCHook (e.g. AclClientRPCHook) that sees every request; null for none. */
    DefaultMQPushConsumer pushConsumer(String group, RPCHook hook, MessageModel model, MessageListener listener,
                                       ConsumerSetup setup) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group, hook, new AllocateMessageQueueAveragely());
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(instanceName());
        c.setClientIP("127.0.0.1");
        c.setMessageModel(model);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPollNameServerInterval(1000);
        c.setHeartbeatBrokerInterval(2000);
        c.setPersistConsumerOffsetInterval(1000);
        c.setConsumeThreadMin(4);
        c.setConsumeThreadMax(4);
        setup.apply(c);
        if (listener instanceof MessageListenerOrderly) {
            c.registerMessageListener((MessageListenerOrderly) listener);
        } else {
            c.registerMessageListener((MessageListenerConcurrently) listener);
        }
        c.start();
        onClose(c::shutdown);
        return c;
    }

    /** A started transactional producer; the caller supplies the listener. */
    TransactionMQProducer transactionProducer(TransactionListener listener) throws Exception {
        TransactionMQProducer p = new TransactionMQProducer(group("TPG"));
        p.setNamesrvAddr(namesrv);
        p.setInstanceName(instanceName());
        p.setClientIP("127.0.0.1");
        p.setSendMsgTimeout(10000);
        p.setPollNameServerInterval(1000);
        p.setHeartbeatBrokerInterval(2000);
        p.setTransactionListener(listener);
        p.start();
        onClose(p::shutdown);
        return p;
    }

    DefaultLitePullConsumer litePullConsumer(String group) throws Exception {
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(instanceName());
        c.setClientIP("127.0.0.1");
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPollNameServerInterval(1000);
        c.setHeartbeatBrokerInterval(2000);
        c.setAutoCommit(true);
        c.setPollTimeoutMillis(1000);
        return c; // caller subscribes, starts, and registers the closer
    }

    synchronized void onClose(Runnable r) {
        closers.add(r);
    }

    /** Shuts all clients down in parallel, giving up after 15 s (a broken broker must not hang the suite). */
    void closeAll() {
        List<Runnable> list;
        synchronized (this) {
            list = new ArrayList<>(closers);
            closers.clear();
        }
        List<Thread> threads = new ArrayList<>();
        for (Runnable r : list) {
            Thread t = new Thread(() -> {
                try {
                    r.run();
                } catch (Throwable e) {
                    System.err.println("[compat " + scenario + "] shutdown error: " + e);
                }
            }, "close-" + scenario);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        for (Thread t : threads) {
            long left = TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime());
            if (left <= 0) {
                break;
            }
            try {
                t.join(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
