package dev.bolide.compat;

import java.nio.charset.StandardCharsets;

import org.apache.rocketmq.common.message.Message;

/**
 * Deterministic message contents for one scenario: message {@code n} always has the same tag,
 * keys, user property and body, so a consumer can verify every field it receives.
 */
final class Payloads {
    final String topic;
    final String runTag;
    final String[] tags;
    /** every {@code bigEvery}-th message gets a body over 4 KiB (compressed by the Java producer); 0 = never */
    final int bigEvery;

    Payloads(String topic, String runTag, String[] tags, int bigEvery) {
        this.topic = topic;
        this.runTag = runTag;
        this.tags = tags;
        this.bigEvery = bigEvery;
    }

    String tag(int n) {
        return tags == null || tags.length == 0 ? null : tags[n % tags.length];
    }

    String keys(int n) {
        return "key-" + n + " k2-" + runTag + "-" + n;
    }

    boolean big(int n) {
        return bigEvery > 0 && n % bigEvery == 3;
    }

    byte[] body(int n) {
        String head = runTag + ":" + n + "|";
        int size = big(n) ? 4200 + (n * 37) % 3000 : 16 + n % 200;
        StringBuilder sb = new StringBuilder(size + 64).append(head);
        // Some multi-byte UTF-8 as well, to catch length/charset mistakes.
        String filler = "the quick brown fox #" + n + " jumps over the lazy dog \u00e9\u4e2d ";
        while (sb.length() < size) {
            sb.append(filler);
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    Message message(int n) {
        Message m = new Message(topic, tag(n), keys(n), body(n));
        m.putUserProperty("cid", Integer.toString(n));
        m.putUserProperty("scenario", runTag);
        return m;
    }

    /** Returns the message number encoded in a body, or -1 if the body was not produced by this scenario. */
    int idOf(byte[] body) {
        if (body == null) {
            return -1;
        }
        int max = Math.min(body.length, runTag.length() + 16);
        String s = new String(body, 0, max, StandardCharsets.UTF_8);
        if (!s.startsWith(runTag + ":")) {
            return -1;
        }
        int bar = s.indexOf('|');
        if (bar < 0) {
            return -1;
        }
        try {
            return Integer.parseInt(s.substring(runTag.length() + 1, bar));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
