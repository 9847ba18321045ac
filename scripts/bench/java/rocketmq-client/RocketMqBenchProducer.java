// The producer loop of Apache RocketMQ's own benchmark (org.apache.rocketmq.example.benchmark.Producer
// in rocketmq-example 4.9.8, which is not on Maven Central): one DefaultMQProducer shared by
// `threads` threads, each sending synchronously in a loop, body of `size` bytes, keys optional,
// compression off. Runs `seconds` and prints one JSON line (TPS, average and max RT, failures).
//
//   java -cp <rocketmq-client 4.9.8 classpath> RocketMqBenchProducer.java <namesrv> <topic> <threads> <size> <keys> <seconds>
import java.util.concurrent.atomic.AtomicLong;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;

public class RocketMqBenchProducer {
    public static void main(String[] args) throws Exception {
        String namesrv = args[0];
        String topic = args[1];
        int threads = Integer.parseInt(args[2]);
        int size = Integer.parseInt(args[3]);
        boolean keys = Boolean.parseBoolean(args[4]);
        long seconds = Long.parseLong(args[5]);

        DefaultMQProducer producer = new DefaultMQProducer("benchmark_producer");
        producer.setInstanceName(Long.toString(System.currentTimeMillis()));
        producer.setNamesrvAddr(namesrv);
        producer.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        producer.start();
        byte[] body = new byte[size];
        java.util.Arrays.fill(body, (byte) 'a');
        // warm-up: route lookup and connection
        producer.send(new Message(topic, body));

        AtomicLong ok = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicLong rtTotalMs = new AtomicLong();
        AtomicLong rtMaxMs = new AtomicLong();
        long start = System.currentTimeMillis();
        long end = start + seconds * 1000;
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            workers[t] = new Thread(() -> {
                while (System.currentTimeMillis() < end) {
                    Message message = new Message(topic, body);
                    long began = System.currentTimeMillis();
                    if (keys) message.setKeys(String.valueOf(began / 1000));
                    try {
                        SendResult result = producer.send(message);
                        long rt = System.currentTimeMillis() - began;
                        if (result.getSendStatus() == SendStatus.SEND_OK) ok.incrementAndGet(); else failed.incrementAndGet();
                        rtTotalMs.addAndGet(rt);
                        rtMaxMs.accumulateAndGet(rt, Math::max);
                    } catch (Exception e) {
                        failed.incrementAndGet();
                    }
                }
            });
            workers[t].start();
        }
        for (Thread worker : workers) worker.join();
        double elapsed = (System.currentTimeMillis() - start) / 1000.0;
        producer.shutdown();
        long sent = ok.get() + failed.get();
        System.out.printf("{\"sendTps\":%d,\"ok\":%d,\"failed\":%d,\"avgRtMs\":%.3f,\"maxRtMs\":%d,\"elapsedSec\":%.3f}%n",
            Math.round(ok.get() / elapsed), ok.get(), failed.get(), sent == 0 ? 0.0 : (double) rtTotalMs.get() / sent, rtMaxMs.get(), elapsed);
        System.exit(0);
    }
}
