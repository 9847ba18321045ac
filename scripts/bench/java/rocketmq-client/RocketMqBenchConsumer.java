// The consumer of Apache RocketMQ's own benchmark (org.apache.rocketmq.example.benchmark.Consumer
// in rocketmq-example 4.9.8, which is not on Maven Central): one DefaultMQPushConsumer with the
// client's defaults (20 consume threads, pulls of 32, one message per listener call, concurrent
// listener that only counts), subscribed to `topic` with "*". Here it reads a backlog — what the
// benchmark producer (RocketMqBenchProducer.java) just wrote — from the first offset, in a group of
// its own, until `expected` messages arrived or `timeoutSeconds` passed. Prints one JSON line:
// messages per second from the first message to the last, the count, and the time to the first
// (client start, route, rebalance: not in the rate).
//
//   java -cp <rocketmq-client 4.9.8 classpath> RocketMqBenchConsumer.java <namesrv> <topic> <expected> <timeoutSeconds>
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;

public class RocketMqBenchConsumer {
    public static void main(String[] args) throws Exception {
        String namesrv = args[0];
        String topic = args[1];
        long expected = Long.parseLong(args[2]);
        long timeoutSeconds = Long.parseLong(args[3]);

        AtomicLong received = new AtomicLong();
        AtomicLong firstAtNs = new AtomicLong();
        AtomicLong lastAtNs = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        long startNs = System.nanoTime();

        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer("benchmark_consumer_" + System.currentTimeMillis());
        consumer.setInstanceName(Long.toString(System.currentTimeMillis()));
        consumer.setNamesrvAddr(namesrv);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            long now = System.nanoTime();
            firstAtNs.compareAndSet(0, now);
            long total = received.addAndGet(messages.size());
            lastAtNs.accumulateAndGet(now, Math::max);
            if (total >= expected) done.countDown();
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        done.await(timeoutSeconds, TimeUnit.SECONDS);
        consumer.shutdown();

        long count = received.get();
        double seconds = (lastAtNs.get() - firstAtNs.get()) / 1e9;
        long tps = count > 1 && seconds > 0 ? Math.round((count - 1) / seconds) : 0;
        System.out.printf("{\"consumeTps\":%d,\"received\":%d,\"expected\":%d,\"elapsedSec\":%.3f,\"firstAfterSec\":%.3f}%n",
            tps, count, expected, seconds, count == 0 ? -1.0 : (firstAtNs.get() - startNs) / 1e9);
        System.exit(count >= expected ? 0 : 1);
    }
}
