package dev.bolide.compat;

/** Tiny assertion helper; a {@link Failure} is reported as a plain message without a stack trace. */
final class Check {
    private Check() {}

    static final class Failure extends RuntimeException {
        Failure(String msg) {
            super(msg);
        }

        Failure(String msg, Throwable cause) {
            super(msg, cause);
        }
    }

    static void that(boolean cond, String msg) {
        if (!cond) {
            throw new Failure(msg);
        }
    }

    static Failure fail(String msg) {
        return new Failure(msg);
    }
}
