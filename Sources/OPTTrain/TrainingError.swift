/// Why training could not start or had to stop; each case names what is wrong and where.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// The bench has no training instances (or none in the chosen benchmarks), or no validation ones to evaluate on.
    case noTrainingData(bench: String, reason: String)
    case invalidOption(String)
    /// A JSONL stream file that cannot be read or has a bad line.
    case invalidStream(path: String, line: Int?, reason: String)
    /// The loss stopped being finite or exploded; the last good checkpoint is kept.
    case divergence(step: Int, loss: Double, lastCheckpoint: String?)
    case checkpointUnwritable(path: String, reason: String)
    case invalidCheckpoint(path: String, reason: String)
    /// An export folder that belongs to other settings or another tokenizer, or whose manifest is unreadable.
    case invalidExport(path: String, reason: String)

    public var description: String {
        switch self {
        case let .noTrainingData(bench, reason): return "\(bench): \(reason)"
        case let .invalidOption(message): return message
        case let .invalidStream(path, line, reason): return "\(path)\(line.map { ":\($0)" } ?? ""): \(reason)"
        case let .divergence(step, loss, last):
            return "training stopped at step \(step): the loss is \(loss) (not finite or exploding); "
                + (last.map { "the last good checkpoint is \($0)" } ?? "no checkpoint had been written yet")
        case let .checkpointUnwritable(path, reason): return "cannot write the checkpoint \(path): \(reason)"
        case let .invalidCheckpoint(path, reason): return "\(path): not a resumable training checkpoint: \(reason)"
        case let .invalidExport(path, reason): return "\(path): \(reason)"
        }
    }
}
