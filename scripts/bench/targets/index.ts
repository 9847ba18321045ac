import { bolideTargets } from "./bolide.ts";
import { kafkaTarget } from "./kafka.ts";
import { natsTarget } from "./nats.ts";
import { nullTarget } from "./null.ts";
import { rabbitmqTarget } from "./rabbitmq.ts";
import { redisTargets } from "./redis.ts";
import { rocketmqTargets } from "./rocketmq.ts";
import type { Target } from "./types.ts";

/** Every target, in table order. --targets picks families (or exact ids). */
export const allTargets: Target[] = [...bolideTargets, ...rocketmqTargets, kafkaTarget, rabbitmqTarget, natsTarget, ...redisTargets, nullTarget];
