package dev.bolide.compat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Entry point of the Java compatibility suite.
 *
 * <pre>
 *   java -jar compat.jar &lt;namesrvAddr&gt; &lt;scenario|all&gt;...
 * </pre>
 *
 * For every scenario it prints one line to stdout, {@code PASS name (N ms) details} or
 * {@code FAIL name: reason}; progress goes to stderr. Exit code 0 only when every scenario passed.
 * System properties: {@code compat.timeout} (seconds per scenario, default 60),
 * {@code compat.tmp} (directory for client logs / local offsets; default a fresh temp dir).
 */
public final class Main {
    private Main() {}

    static final Map<String, Scenario> SCENARIOS = new LinkedHashMap<>();

    static {
        SCENARIOS.put("sync", Scenarios::sync);
        SCENARIOS.put("async", Scenarios::async);
        SCENARIOS.put("oneway", Scenarios::oneway);
        SCENARIOS.put("pubsub", Scenarios::pubsub);
        SCENARIOS.put("clustering", Scenarios::clustering);
        SCENARIOS.put("broadcasting", Scenarios::broadcasting);
        SCENARIOS.put("tags", Scenarios::tags);
        SCENARIOS.put("litepull", Scenarios::litepull);
        SCENARIOS.put("batch", Scenarios::batch);
    }

    /** "all": the core scenarios above. "extended": the extra ones. "full": both. */
    static final List<String> CORE = new ArrayList<>(SCENARIOS.keySet());

    static {
        ExtendedScenarios.register(SCENARIOS);
        QueryScenarios.register(SCENARIOS);
        AclScenarios.register(SCENARIOS); // needs a broker with ACL on: run.sh starts one for it
        FailoverScenarios.register(SCENARIOS);
        TlsScenarios.register(SCENARIOS);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: java -jar compat.jar <namesrvAddr> <scenario|all|extended|full>...");
            System.err.println("scenarios: " + String.join(" ", SCENARIOS.keySet()));
            System.exit(2);
        }
        configureClientProperties();

        List<String> names = new ArrayList<>();
        for (String a : Arrays.copyOfRange(args, 1, args.length)) {
            if (a.equals("all")) {
                names.addAll(CORE);
            } else if (a.equals("extended")) {
                names.addAll(ExtendedScenarios.names());
            } else if (a.equals("full")) {
                names.addAll(CORE);
                names.addAll(ExtendedScenarios.names());
            } else if (SCENARIOS.containsKey(a)) {
                names.add(a);
            } else {
                System.err.println("unknown scenario: " + a + " (known: " + String.join(" ", SCENARIOS.keySet()) + ")");
                System.exit(2);
            }
        }

        long timeoutSec = Long.getLong("compat.timeout", 60L);
        int failed = 0;
        for (String name : names) {
            String result = runOne(args[0], name, timeoutSec);
            System.out.println(result);
            System.out.flush();
            if (!result.startsWith("PASS")) {
                failed++;
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }

    private static String runOne(String namesrv, String name, long timeoutSec) {
        Ctx ctx = new Ctx(namesrv, name, System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSec));
        ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "scenario-" + name);
            t.setDaemon(true);
            return t;
        });
        long start = System.nanoTime();
        String result;
        try {
            Future<String> f = ex.submit(() -> SCENARIOS.get(name).run(ctx));
            // A little grace over the scenario's own deadline so its own (more precise) message wins.
            String details = f.get(timeoutSec * 1000L + 5000L, TimeUnit.MILLISECONDS);
            result = "PASS " + name + " (" + ms(start) + " ms)" + (details == null || details.isEmpty() ? "" : " " + details);
        } catch (TimeoutException e) {
            result = "FAIL " + name + ": timed out after " + timeoutSec + " s; last progress: " + ctx.progress;
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            result = "FAIL " + name + ": " + describe(c);
            if (!(c instanceof Check.Failure)) {
                c.printStackTrace();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            result = "FAIL " + name + ": interrupted";
        } finally {
            ex.shutdownNow();
            ctx.closeAll();
        }
        return result;
    }

    /** One line: the exception chain, skipping causes whose text is already included. */
    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        Throwable cur = t;
        int depth = 0;
        while (cur != null && depth < 6) {
            String msg = String.valueOf(cur.getMessage()).replace('\n', ' ');
            String text = cur instanceof Check.Failure ? msg : cur.getClass().getName() + ": " + msg;
            if (sb.indexOf(msg) < 0 && sb.indexOf(text) < 0) {
                sb.append(sb.length() == 0 ? "" : " <- caused by ").append(text);
            }
            cur = cur.getCause() == cur ? null : cur.getCause();
            depth++;
        }
        return sb.toString();
    }

    static long ms(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    /** Must run before any RocketMQ client class is loaded (several read these in static initialisers). */
    private static void configureClientProperties() throws Exception {
        String tmp = System.getProperty("compat.tmp");
        File dir;
        if (tmp == null || tmp.isEmpty()) {
            dir = Files.createTempDirectory("bolide-compat-").toFile();
        } else {
            dir = new File(tmp);
            dir.mkdirs();
        }
        setDefault("rocketmq.client.logUseSlf4j", "false");
        setDefault("rocketmq.client.logRoot", new File(dir, "logs").getAbsolutePath());
        setDefault("rocketmq.client.logLevel", "WARN");
        setDefault("rocketmq.client.logFileMaxIndex", "2");
        setDefault("rocketmq.client.localOffsetStoreDir", new File(dir, "offsets").getAbsolutePath());
        // Rebalance every second instead of every 20 s so consumers pick up new topics/members fast.
        setDefault("rocketmq.client.rebalance.waitInterval", "1000");
        // Never the VIP channel (broker port - 2): talk to the advertised broker port only.
        setDefault("com.rocketmq.sendMessageWithVIPChannel", "false");
        System.err.println("[compat] client logs and local offsets under " + dir.getAbsolutePath());
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** A scenario returns a short detail string on success and throws on failure. */
    @FunctionalInterface
    interface Scenario {
        String run(Ctx ctx) throws Exception;
    }

    static String uniqueSuffix() {
        return Long.toString(System.currentTimeMillis(), 36) + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
