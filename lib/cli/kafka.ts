/**
 * `causalflow kafka start|stop|status`: a local single-node Kafka broker (KRaft, 127.0.0.1), fetched
 * with Maven and run with java; see `lib/connectors/kafka/broker.ts`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { brokerDirectory, brokerStatus, startBroker, stopBroker } from '../connectors/kafka/broker.js';
import { printJsonResult } from './output.js';

interface KafkaCommandOptions {
  dir?: string;
  port?: number;
  json?: boolean;
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65535) throw new InvalidArgumentError(`expected a TCP port from 1 to 65535, got ${JSON.stringify(value)}`);
  return parsed;
}

/** Adds the `kafka` command group to `program`. */
export function registerKafkaCommands(program: Command): void {
  const kafka = program
    .command('kafka')
    .description('a local Kafka 4.4.0 broker (one KRaft node on 127.0.0.1) for the Kafka connectors, their tests and benchmarks')
    .addHelpText(
      'after',
      '\nThe broker is fetched with Maven (java and mvn must be on the PATH) into ~/.cache/causalflow/kafka-4.4.0,\n' +
        'and runs detached until `causalflow kafka stop`. Point the connectors (and `npm test`) at it with\n' +
        '  export CAUSALFLOW_KAFKA_BROKERS=127.0.0.1:<port>\n',
    );
  const withCommon = (command: Command): Command =>
    command
      .option('--dir <dir>', 'directory of the broker: its data, log, properties and pid file', '.causalflow/kafka')
      .option('--json', 'print the result as one JSON object on the last line of stdout');

  withCommon(kafka.command('start').description('fetch the broker if needed, format its log directory the first time, start it and wait until it answers'))
    .option('--port <port>', 'client port on 127.0.0.1 (default: the one used last time in --dir, else a free port)', port)
    .action(async (options: KafkaCommandOptions) => {
      const out = options.json ? process.stderr : process.stdout;
      const before = await brokerStatus({ dir: options.dir });
      const info = await startBroker({
        ...(options.dir !== undefined ? { dir: options.dir } : {}),
        ...(options.port !== undefined ? { port: options.port } : {}),
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      const already = before.running && before.info?.pid === info.pid;
      out.write(`Kafka ${info.version} ${already ? 'already runs' : 'runs'} at ${info.brokers} (pid ${info.pid}, directory ${info.dir}, log ${info.logFile})\n`);
      out.write(`export CAUSALFLOW_KAFKA_BROKERS=${info.brokers}\n`);
      if (options.json) printJsonResult({ kafka: 'start', running: true, alreadyRunning: already, ...info });
    });

  withCommon(kafka.command('stop').description('stop the broker by its recorded pid (SIGTERM, then SIGKILL after --timeout)'))
    .option('--timeout <s>', 'seconds to wait after SIGTERM before SIGKILL', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new InvalidArgumentError(`expected a number of seconds > 0, got ${JSON.stringify(v)}`);
      return n;
    }, 20)
    .action(async (options: KafkaCommandOptions & { timeout: number }) => {
      const out = options.json ? process.stderr : process.stdout;
      const result = await stopBroker({ ...(options.dir !== undefined ? { dir: options.dir } : {}), timeoutMs: options.timeout * 1000 });
      out.write(result.wasRunning ? `stopped the broker (pid ${result.pid}${result.killed ? ', killed after the timeout' : ''})\n` : `no broker runs in ${brokerDirectory({ dir: options.dir })}\n`);
      if (options.json) printJsonResult({ kafka: 'stop', dir: brokerDirectory({ dir: options.dir }), ...result });
    });

  withCommon(kafka.command('status').description('whether the broker of --dir runs and answers (exit code 0 when it does, 1 otherwise)')).action(async (options: KafkaCommandOptions) => {
    const out = options.json ? process.stderr : process.stdout;
    const status = await brokerStatus({ dir: options.dir });
    const dir = brokerDirectory({ dir: options.dir });
    if (status.running) out.write(`Kafka ${status.info!.version} runs at ${status.info!.brokers} (pid ${status.info!.pid})${status.answering ? '' : ' but does not answer'}\n`);
    else out.write(`no broker runs in ${dir}\n`);
    if (options.json) printJsonResult({ kafka: 'status', dir, running: status.running, answering: status.answering, brokers: status.running ? status.info!.brokers : null, pid: status.running ? status.info!.pid : null });
    if (!status.running || !status.answering) process.exitCode = 1;
  });
}
