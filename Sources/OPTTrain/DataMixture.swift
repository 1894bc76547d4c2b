import Foundation
import OPTSupport
import OPTBench
import OPTTokenizer

/// One tokenized training example: `tokens` begin with BOS, and `lossMask[i]` says whether token i is trained on.
public struct TrainingExample: Sendable, Equatable {
    public var tokens: [Int32]
    public var lossMask: [Bool]
}

/// What the model is trained on, as the paper's §3 and §4 describe.
public struct MixtureSettings: Sendable, Equatable, Codable {
    /// Which tokens carry the loss.
    public enum Loss: String, Sendable, Codable, CaseIterable {
        /// The target only (the paper's choice).
        case label
        /// Every token.
        case full
    }

    /// Which answers carry the loss when the prompt holds demonstrations (MetaICL).
    public enum DemonstrationLoss: String, Sendable, Codable, CaseIterable {
        /// Only the query's answer (the paper's better variant).
        case suffix
        /// Every demonstration's answer as well.
        case standard
    }

    /// A stream mixed in beside the bench at a fixed share of examples: JSONL whose lines are
    /// `{"text": …}` (all target, like pre-training text) or `{"src": …, "tgt": …}` (e.g. reasoning).
    public struct Stream: Sendable, Equatable, Codable {
        public var name: String
        public var path: String
        public var share: Double
        public init(name: String, path: String, share: Double) {
            self.name = name
            self.path = path
            self.share = share
        }
    }

    /// Examples-proportional sampling caps each task's weight at this many examples (EPS).
    public var taskCap = 4096
    /// Shares of benchmarks (`niv2`, `promptsource`, `flan`, …); nil: examples-proportional over all.
    public var proportions: [String: Double]?
    public var streams: [Stream] = []
    /// Demonstrations per training prompt: k ~ Zipf over 0…maxShots (P(k) ∝ (k+1)^-a); 0 turns them off.
    public var maxShots = 0
    public var zipfExponent = 1.0
    public var demonstrationLoss = DemonstrationLoss.suffix
    public var loss = Loss.label
    public var seed: UInt64 = 0

    public init() {}

    /// The paper's benchmark proportions (the opt-iml preset records them in a bench's manifest).
    public static let paperProportions = SplitSpec.paperProportions
}

extension SplitMix64 {
    /// An index drawn with probability proportional to `weights` (cumulative, ascending, last = total).
    mutating func pick(_ cumulative: [Double]) -> Int {
        let u = unit() * (cumulative.last ?? 0)
        return min(cumulative.firstIndex { u < $0 } ?? cumulative.count - 1, cumulative.count - 1)
    }
}

/// The training tasks of a bench and the extra streams, sampled as `MixtureSettings` says.
///
/// Example n of the mixture is a function of the seed and n alone: which source, task and
/// instance it is comes from a generator replayed from the start (cheap: nothing is formatted or
/// tokenized for skipped examples), so a resumed run continues with exactly the examples the
/// uninterrupted one would have seen.
public final class DataMixture: @unchecked Sendable {
    public let settings: MixtureSettings
    let tokenizer: BPETokenizer
    let tasks: [BenchTask]
    /// Each task's training instances.
    let pools: [[TaskInstance]]
    let streams: [[StreamRecord]]
    /// Cumulative weights: over sources (bench first, then each stream), and over tasks within each benchmark.
    private let sourceWeights: [Double]
    private let benchmarks: [(name: String, tasks: [Int], cumulative: [Double])]
    private let benchmarkWeights: [Double]
    private let zipf: [Double]

    enum StreamRecord: Sendable {
        case text(String)
        case pair(src: String, tgt: String)
    }

    /// Tasks and counts, for the run's log.
    public var summary: String {
        let instances = pools.map(\.count).reduce(0, +)
        return (tasks.isEmpty ? "no bench" : "\(tasks.count) training tasks, \(instances) instances in \(benchmarks.count) benchmark(s)")
            + streams.enumerated().map { ", stream \(settings.streams[$0.offset].name): \($0.element.count) records" }.joined()
    }

    /// The mixture of `bench`'s training tasks and `settings.streams`; without a bench, of the streams
    /// alone, in proportion to their shares (pre-training on text).
    public init(bench: URL?, tokenizer: BPETokenizer, settings: MixtureSettings) throws {
        self.settings = settings
        self.tokenizer = tokenizer
        var tasks: [BenchTask] = [], pools: [[TaskInstance]] = []
        if let bench {
            let manifest = try BenchStore.manifest(bench)
            for record in manifest.tasks where record.role == .train && (record.instances["train"] ?? 0) > 0 {
                if let proportions = settings.proportions, (proportions[record.benchmark] ?? 0) <= 0 { continue }
                let (task, _) = try BenchStore.task(record.id, in: bench, manifest: manifest)
                let pool = task.instances(in: .train)
                guard !pool.isEmpty else { continue }
                // A seeded order per task, cycled through as the task is drawn.
                pools.append(pool.enumerated().map { ($0.element, StableHash.of(settings.seed, "train-order", task.id, $0.element.id)) }
                    .sorted { $0.1 < $1.1 }.map(\.0))
                tasks.append(task)
            }
            guard !tasks.isEmpty else {
                let which = settings.proportions.map { " in the benchmarks " + $0.keys.sorted().joined(separator: ", ") } ?? ""
                throw TrainingError.noTrainingData(bench: bench.path, reason: "no training task with training instances\(which)")
            }
        } else if settings.streams.isEmpty {
            throw TrainingError.invalidOption("nothing to train on: give a bench, a --stream, or both")
        }
        self.tasks = tasks
        self.pools = pools
        streams = try settings.streams.map { try Self.readStream($0) }

        var grouped: [String: [Int]] = [:]
        for (i, task) in tasks.enumerated() { grouped[task.benchmark, default: []].append(i) }
        benchmarks = grouped.keys.sorted().map { name in
            let members = grouped[name]!
            var total = 0.0
            let cumulative = members.map { total += Double(min(pools[$0].count, settings.taskCap)); return total }
            return (name, members, cumulative)
        }
        // Benchmarks: by their given shares, else by their capped sizes (examples-proportional over all tasks).
        var total = 0.0
        benchmarkWeights = benchmarks.map { b in
            total += settings.proportions.map { $0[b.name] ?? 0 } ?? (b.cumulative.last ?? 0)
            return total
        }
        let streamShare = settings.streams.map(\.share).reduce(0, +)
        guard bench == nil || streamShare < 1, settings.streams.allSatisfy({ $0.share > 0 }) else {
            throw TrainingError.invalidOption("stream shares must be positive and, beside a bench, sum to less than 1, got \(settings.streams.map(\.share))")
        }
        // The bench takes what the streams leave; without one, the streams share everything.
        var cumulativeShare = bench == nil ? 0 : 1 - streamShare
        sourceWeights = [cumulativeShare] + settings.streams.map { cumulativeShare += $0.share; return cumulativeShare }
        var zipfTotal = 0.0
        zipf = (0...max(settings.maxShots, 0)).map { zipfTotal += pow(Double($0 + 1), -settings.zipfExponent); return zipfTotal }
    }

    /// Where one example comes from.
    enum Draw: Equatable {
        case instance(task: Int, index: Int, shots: Int)
        case stream(Int, index: Int)
    }

    /// The generator's state after `position` draws, plus how often each task and stream was drawn.
    struct Cursor: Equatable {
        var random: SplitMix64
        var taskDraws: [Int]
        var streamDraws: [Int]
        var position = 0
    }

    func start() -> Cursor {
        Cursor(random: SplitMix64(state: StableHash.of(settings.seed, "mixture")), taskDraws: Array(repeating: 0, count: tasks.count),
               streamDraws: Array(repeating: 0, count: streams.count))
    }

    func draw(_ cursor: inout Cursor) -> Draw {
        cursor.position += 1
        let source = cursor.random.pick(sourceWeights)
        if source > 0 {
            let s = source - 1
            defer { cursor.streamDraws[s] += 1 }
            return .stream(s, index: cursor.streamDraws[s] % streams[s].count)
        }
        let benchmark = benchmarks[cursor.random.pick(benchmarkWeights)]
        let task = benchmark.tasks[cursor.random.pick(benchmark.cumulative)]
        let shots = settings.maxShots > 0 ? cursor.random.pick(zipf) : 0
        defer { cursor.taskDraws[task] += 1 }
        return .instance(task: task, index: cursor.taskDraws[task] % pools[task].count, shots: shots)
    }

    /// Counts of where the mixture's examples came from, by benchmark (`stream:NAME` for a stream) and
    /// by task: the shares as drawn, which the settings' proportions only set in expectation.
    public struct Tally: Equatable {
        public internal(set) var sources: [String: Int] = [:]
        public internal(set) var tasks: [String: Int] = [:]
        /// Examples counted: the tally covers examples `start..<start + examples`.
        public internal(set) var examples = 0
        var cursor: Cursor
    }

    /// An empty tally of the examples from `position` on.
    public func tally(from position: Int) -> Tally {
        var cursor = start()
        for _ in 0..<position { _ = draw(&cursor) }
        return Tally(cursor: cursor)
    }

    /// Counts the examples up to `position` (a stream's position after the steps counted).
    public func count(_ tally: inout Tally, upTo position: Int) {
        while tally.cursor.position < position {
            switch draw(&tally.cursor) {
            case let .stream(s, _): tally.sources["stream:" + settings.streams[s].name, default: 0] += 1
            case let .instance(task, _, _):
                tally.sources[tasks[task].benchmark, default: 0] += 1
                tally.tasks[tasks[task].id, default: 0] += 1
            }
            tally.examples += 1
        }
    }

    /// The tokens and loss mask of a draw.
    func example(_ draw: Draw) -> TrainingExample {
        switch draw {
        case let .stream(s, index):
            switch streams[s][index] {
            case let .text(text): return assemble([(text, true)], allTarget: true)
            case let .pair(src, tgt): return assemble([(src, false), (tgt, true)], allTarget: false)
            }
        case let .instance(task, index, shots):
            let encoding = OPTIMLEncoding(shots: shots)
            let formatted = PromptFormatter(style: .optIML(encoding), seed: settings.seed).format(pools[task][index], of: tasks[task])
            var pieces: [(String, Bool)] = []
            let src = Array(formatted.src.utf8)
            var cursor = 0
            for answer in formatted.demonstrationAnswers ?? [] {
                pieces.append((String(decoding: src[cursor..<answer.lowerBound], as: UTF8.self), false))
                pieces.append((String(decoding: src[answer], as: UTF8.self), settings.demonstrationLoss == .standard))
                cursor = answer.upperBound
            }
            pieces.append((String(decoding: src[cursor...], as: UTF8.self), false))
            pieces.append((formatted.tgt, true))
            return assemble(pieces, allTarget: false)
        }
    }

    /// Up to `limit` validation instances of the bench (every task's `validation` split, in a seeded
    /// order), 0-shot with label loss: the held-out loss a run reports.
    public static func validationExamples(bench: URL, tokenizer: BPETokenizer, limit: Int, seed: UInt64) throws -> [TrainingExample] {
        let manifest = try BenchStore.manifest(bench)
        var drawn: [(UInt64, TrainingExample)] = []
        let formatter = PromptFormatter(style: .optIML(OPTIMLEncoding()), seed: seed)
        for record in manifest.tasks where (record.instances["validation"] ?? 0) > 0 {
            let (task, _) = try BenchStore.task(record.id, in: bench, manifest: manifest)
            for instance in task.instances(in: .validation) {
                let formatted = formatter.format(instance, of: task)
                let example = assemble([(formatted.src, false), (formatted.tgt, true)], loss: .label, tokenizer: tokenizer)
                drawn.append((StableHash.of(seed, "validation", task.id, instance.id), example))
            }
        }
        return drawn.sorted { $0.0 < $1.0 }.prefix(limit).map(\.1)
    }

    private func assemble(_ pieces: [(text: String, target: Bool)], allTarget: Bool) -> TrainingExample {
        Self.assemble(pieces, loss: allTarget ? .full : settings.loss, tokenizer: tokenizer)
    }

    /// BOS, each piece tokenized on its own, then EOS (trained on, so that the model learns to stop).
    static func assemble(_ pieces: [(text: String, target: Bool)], loss: MixtureSettings.Loss, tokenizer: BPETokenizer) -> TrainingExample {
        var tokens: [Int32] = [Int32(tokenizer.bosTokenID ?? 2)], mask = [false]
        let full = loss == .full
        for piece in pieces where !piece.text.isEmpty {
            let ids = tokenizer.encode(piece.text, addBOS: false).map { Int32($0) }
            tokens += ids
            mask += Array(repeating: full || piece.target, count: ids.count)
        }
        tokens.append(Int32(tokenizer.eosTokenID ?? 2))
        mask.append(true)
        return TrainingExample(tokens: tokens, lossMask: mask)
    }

    private static func readStream(_ stream: MixtureSettings.Stream) throws -> [StreamRecord] {
        var records: [StreamRecord] = []
        do throws(JSONLinesError) {
            let lines = try JSONLinesReader(url: URL(fileURLWithPath: stream.path))
            while let line = try lines.next() {
                guard !JSONLinesReader.isBlank(line.bytes) else { continue }
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.bytes)) as? [String: Any] else {
                    throw .malformedLine(file: stream.path, line: line.number, reason: "not a JSON object")
                }
                if let text = object["text"] as? String {
                    records.append(.text(text))
                } else if let src = object["src"] as? String, let tgt = object["tgt"] as? String {
                    records.append(.pair(src: src, tgt: tgt))
                } else {
                    throw .malformedLine(file: stream.path, line: line.number, reason: "needs a string \"text\", or strings \"src\" and \"tgt\"")
                }
            }
        } catch {
            switch error {
            case let .unreadable(_, reason): throw TrainingError.invalidStream(path: stream.path, line: nil, reason: "cannot read it (\(reason))")
            case let .malformedLine(_, line, reason): throw TrainingError.invalidStream(path: stream.path, line: line, reason: reason)
            case let .lineTooLong(_, line, limit): throw TrainingError.invalidStream(path: stream.path, line: line, reason: "line longer than \(limit) bytes")
            }
        }
        guard !records.isEmpty else { throw TrainingError.invalidStream(path: stream.path, line: nil, reason: "no records") }
        return records
    }
}
