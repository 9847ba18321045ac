package dev.bolide.compat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.apache.rocketmq.common.message.MessageExt;

/** Collects and verifies the messages one consumer receives. Thread-safe. */
final class Collector {
    final String label;
    final Payloads payloads;
    final int count;
    /** ids this consumer is supposed to get (e.g. a tag subset); all of 0..count-1 when null */
    final BitSet expected;
    /** producer-side msgIds (SendResult.getMsgId) by message number, checked when set */
    volatile AtomicReferenceArray<String> sentMsgIds;
    /** expected MessageExt.getReconsumeTimes(), or -1 to skip the check */
    volatile int expectReconsumeTimes = 0;

    private final AtomicInteger[] hits;
    final AtomicInteger total = new AtomicInteger();
    final AtomicInteger distinct = new AtomicInteger();
    final AtomicInteger foreign = new AtomicInteger();
    final AtomicInteger unexpected = new AtomicInteger();
    final AtomicInteger errorCount = new AtomicInteger();
    private final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();

    Collector(String label, Payloads payloads, int count, BitSet expected) {
        this.label = label;
        this.payloads = payloads;
        this.count = count;
        this.expected = expected;
        this.hits = new AtomicInteger[count];
        for (int i = 0; i < count; i++) {
            hits[i] = new AtomicInteger();
        }
    }

    int expectedCount() {
        return expected == null ? count : expected.cardinality();
    }

    boolean isExpected(int id) {
        return expected == null || expected.get(id);
    }

    void accept(MessageExt m) {
        total.incrementAndGet();
        int id = payloads.idOf(m.getBody());
        if (id < 0) {
            foreign.incrementAndGet();
            return;
        }
        if (id >= count) {
            error("message number " + id + " out of range");
            return;
        }
        check(id, m);
        if (!isExpected(id)) {
            unexpected.incrementAndGet();
            error("received message " + id + " with tag " + m.getTags() + " that should not be delivered to this consumer");
        }
        if (hits[id].incrementAndGet() == 1) {
            distinct.incrementAndGet();
        }
    }

    private void check(int id, MessageExt m) {
        if (!Arrays.equals(m.getBody(), payloads.body(id))) {
            error("message " + id + ": body differs (got " + (m.getBody() == null ? "null" : m.getBody().length + " bytes")
                    + ", want " + payloads.body(id).length + " bytes)");
        }
        if (!payloads.topic.equals(m.getTopic())) {
            error("message " + id + ": topic " + m.getTopic() + ", want " + payloads.topic);
        }
        if (!Objects.equals(payloads.tag(id), m.getTags())) {
            error("message " + id + ": tags " + m.getTags() + ", want " + payloads.tag(id));
        }
        if (!payloads.keys(id).equals(m.getKeys())) {
            error("message " + id + ": keys " + m.getKeys() + ", want " + payloads.keys(id));
        }
        if (!Integer.toString(id).equals(m.getUserProperty("cid"))) {
            error("message " + id + ": user property cid=" + m.getUserProperty("cid"));
        }
        if (m.getMsgId() == null || m.getMsgId().isEmpty()) {
            error("message " + id + ": no msgId");
        }
        AtomicReferenceArray<String> ids = sentMsgIds;
        if (ids != null && ids.get(id) != null && !ids.get(id).equals(m.getMsgId())) {
            error("message " + id + ": msgId " + m.getMsgId() + " differs from SendResult msgId " + ids.get(id));
        }
        if (m.getQueueOffset() < 0) {
            error("message " + id + ": queueOffset " + m.getQueueOffset());
        }
        if (m.getBornTimestamp() <= 0 || m.getStoreTimestamp() <= 0) {
            error("message " + id + ": bornTimestamp " + m.getBornTimestamp() + " storeTimestamp " + m.getStoreTimestamp());
        }
        if (expectReconsumeTimes >= 0 && m.getReconsumeTimes() != expectReconsumeTimes) {
            error("message " + id + ": reconsumeTimes " + m.getReconsumeTimes());
        }
    }

    private void error(String s) {
        if (errorCount.incrementAndGet() <= 10) {
            errors.add(s);
        }
    }

    boolean complete() {
        return countExpectedReceived() >= expectedCount();
    }

    int countExpectedReceived() {
        if (expected == null) {
            return distinct.get();
        }
        int n = 0;
        for (int i = expected.nextSetBit(0); i >= 0; i = expected.nextSetBit(i + 1)) {
            if (hits[i].get() > 0) {
                n++;
            }
        }
        return n;
    }

    int hitsOf(int id) {
        return hits[id].get();
    }

    int duplicates() {
        int d = 0;
        for (AtomicInteger h : hits) {
            d += Math.max(0, h.get() - 1);
        }
        return d;
    }

    List<Integer> missing(int limit) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < count && out.size() < limit; i++) {
            if (isExpected(i) && hits[i].get() == 0) {
                out.add(i);
            }
        }
        return out;
    }

    String status() {
        return label + ": " + countExpectedReceived() + "/" + expectedCount() + " received (" + total.get()
                + " deliveries, " + duplicates() + " duplicates, " + foreign.get() + " foreign)"
                + (complete() ? "" : ", missing e.g. " + missing(8))
                + (errorCount.get() == 0 ? "" : ", " + errorCount.get() + " content errors e.g. " + errors);
    }

    /** Throws unless complete and free of content errors. */
    void verify() {
        Check.that(errorCount.get() == 0, label + ": " + errorCount.get() + " content errors, e.g. " + errors);
        Check.that(complete(), "incomplete: " + status());
    }
}
