import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { valueDecoderFor } from './pg-value-decoder';

/**
 * pgoutput (protocol version 1, no streaming of in-progress transactions: the library's parser
 * does not know the stream messages) with our value decoders. The library parses each message as
 * it arrives and caches relations, so decoders must be swapped inside `parse`, before the first
 * tuple of that relation is read.
 */
export class EnvelopePgoutputPlugin extends PgoutputPlugin {
  constructor(publicationNames: string[]) {
    // Logical decoding messages are on so that the reader's WAL heartbeats arrive (pgoutput skips
    // transactions with nothing to send).
    super({ protoVersion: 1, publicationNames, messages: true });
  }

  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer) as Pgoutput.Message;
    if (message.tag === 'relation') {
      for (const column of message.columns) column.parser = valueDecoderFor(column.typeOid);
    }
    return message;
  }
}
