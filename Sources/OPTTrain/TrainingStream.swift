import Foundation
import OPTTokenizer

/// The rows a run trains on, step by step: the mixture packed into `--seq-len` rows, `batchSize`
/// rows a step in `batchSize / microBatchSize` passes. `optiml tune` trains on it and
/// `optiml tune --export` writes it out, so both read the very same rows.
public final class TrainingStream {
    public let settings: TrainerSettings
    public let tokenizer: BPETokenizer
    public let mixture: DataMixture
    private let packer: BatchPacker

    /// The stream of `settings` for the model in `model` (its tokenizer; `vocabSize` and `padToken`
    /// from its config), starting after the first `position` examples of the mixture.
    public init(model: URL, vocabSize: Int, padToken: Int32, bench: URL?, settings: TrainerSettings, position: Int = 0) throws {
        self.settings = settings
        tokenizer = try BPETokenizer.load(directory: model)
        // Token ids index the embedding's gradient rows: a larger tokenizer belongs to another model.
        guard tokenizer.vocabularySize <= vocabSize else {
            throw TrainingError.invalidOption("\(model.path): the tokenizer has \(tokenizer.vocabularySize) tokens but the model only \(vocabSize) embeddings")
        }
        mixture = try DataMixture(bench: bench, tokenizer: tokenizer, settings: settings.mixture)
        packer = try BatchPacker(mixture: mixture, rows: settings.microBatchSize, length: settings.sequenceLength, position: position,
                                 padToken: padToken)
    }

    /// Mixture examples placed in the steps returned so far: what a checkpoint saves to resume from.
    public var position: Int { packer.position }

    /// The micro-batches of the next optimizer step, in order.
    public func nextStep() throws(TrainingError) -> [PackedBatch] {
        try (0..<(settings.batchSize / settings.microBatchSize)).map { _ throws(TrainingError) in try packer.next() }
    }
}
