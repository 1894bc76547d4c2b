/// Packs the mixture's examples into rows of `length` tokens: whole examples one after another
/// (each begins with BOS and ends with EOS, so rows read as examples separated by `</s>`), never
/// split across rows; an example longer than a row keeps BOS and its last `length - 1` tokens.
public final class BatchPacker {
    public let mixture: DataMixture
    public let rows: Int
    public let length: Int
    private var cursor: DataMixture.Cursor
    private var pending: TrainingExample?
    private let pad: Int32

    /// Starts after the first `position` examples of the mixture (a resumed run passes its saved `position`).
    public init(mixture: DataMixture, rows: Int, length: Int, position: Int = 0, padToken: Int32 = 1) throws {
        guard rows > 0, length >= 2 else { throw TrainingError.invalidOption("batches need at least 1 row of 2 tokens, got \(rows) × \(length)") }
        self.mixture = mixture
        self.rows = rows
        self.length = length
        pad = padToken
        cursor = mixture.start()
        for _ in 0..<position { _ = mixture.draw(&cursor) }
    }

    /// Examples placed in the batches returned so far (the example held back for the next batch not counted).
    public var position: Int { cursor.position - (pending == nil ? 0 : 1) }

    /// The next batch.
    public func next() throws(TrainingError) -> PackedBatch {
        let (batch, held) = try Self.fill(rows: rows, length: length, pad: pad, pending: pending) {
            Self.fitted(mixture.example(mixture.draw(&cursor)), length: length)
        }
        pending = held
        return batch
    }

    /// Batches of fixed examples (a validation set), in order.
    public static func batches(_ examples: [TrainingExample], rows: Int, length: Int, padToken: Int32 = 1) throws(TrainingError) -> [PackedBatch] {
        var queue = examples.map { fitted($0, length: length) }[...]
        var pending: TrainingExample?, batches: [PackedBatch] = []
        while pending != nil || !queue.isEmpty {
            let (batch, held) = try fill(rows: rows, length: length, pad: padToken, pending: pending) { queue.popFirst() }
            pending = held
            batches.append(batch)
        }
        return batches
    }

    /// One batch from `pending` and then `source` (until it runs dry); returns the example that did not fit.
    private static func fill(rows: Int, length: Int, pad: Int32, pending: TrainingExample?,
                             _ source: () -> TrainingExample?) throws(TrainingError) -> (PackedBatch, TrainingExample?) {
        var batch = PackedBatch(rows: rows, length: length, padToken: pad)
        var pending = pending
        rowLoop: for row in 0..<rows {
            var used = 0
            while let example = pending ?? source() {
                guard used + example.tokens.count <= length else {
                    pending = example
                    continue rowLoop
                }
                pending = nil
                try batch.place(example.tokens, lossMask: example.lossMask, row: row, start: used)
                used += example.tokens.count
            }
            break
        }
        batch.padRows()
        return (batch, pending)
    }

    private static func fitted(_ example: TrainingExample, length: Int) -> TrainingExample {
        guard example.tokens.count > length else { return example }
        let tail = example.tokens.count - (length - 1)
        return TrainingExample(tokens: [example.tokens[0]] + example.tokens[tail...], lossMask: [false] + example.lossMask[tail...])
    }
}
