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
    super({ protoVersion: 1, publicationNames });
  }

  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer) as Pgoutput.Message;
    if (message.tag === 'relation') {
      for (const column of message.columns) column.parser = valueDecoderFor(column.typeOid);
    }
    return message;
  }
}
