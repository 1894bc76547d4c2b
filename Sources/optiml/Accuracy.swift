import ArgumentParser
import Foundation
import OPTKernels
import OPTModel
import OPTTokenizer

/// `optiml accuracy`: how far the compressed weight formats move the logits from f32.
struct Accuracy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare the logits of f16, bf16, int8 and int4 weights with f32 on the same inputs.",
        discussion: """
        Runs the same token sequences (--text: a text file tokenized with the model's tokenizer and cut into \
        sequences of --sequence-length tokens, each after BOS; else fixed pseudo-random tokens) through the model \
        in f32 and in each format, and reports over every position the largest absolute logit difference, the \
        mean cosine similarity of the logit vectors and the top-1 agreement, with the gate each format must pass \
        (int8 and bf16: top-1 ≥ 99% and cosine ≥ 0.995; int4: top-1 ≥ 97%). `bf16-gemm` is bf16 with the \
        AVX512-BF16 prefill GEMM on. Near-ties are the positions whose two largest f32 logits are within 0.05 (a top-1 \
        there flips with almost any change); the last figure is the share of top-1 misses that fall on them. Sequences run as one prefill each (the GEMM paths: int8 on AVX-512 VNNI where \
        the processor has it) unless --decode feeds them one token at a time (the matrix-vector kernels).
        """)

    @Option(help: "Checkpoint directory.") var model: String
    @Option(help: "Comma-separated formats to compare with f32 (f16, bf16, bf16-gemm, int8, int4, int4-head4).")
    var dtype = "f16,bf16,bf16-gemm,int8,int4"
    @Option(help: "A text file to run (real text); without it, pseudo-random tokens.") var text: String?
    @Option(help: "Positions to compare (sequences of --sequence-length tokens).") var positions = 1024
    @Option(help: "Tokens per sequence.") var sequenceLength = 256
    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }
    @Flag(help: "Feed each sequence one token at a time (decode kernels) instead of one prefill.") var decode = false
    @Flag(help: "One JSON object per format and line.") var json = false
    @Flag(help: "Exit with an error when a format misses its gate.") var gates = false
    @OptionGroup var calibrationOptions: CalibrationOptions

    var variants: [AccuracyVariant?] { dtype.split(separator: ",").map { AccuracyVariant(name: String($0)) } }

    func validate() throws {
        guard variants.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--dtype: expected f16, bf16, bf16-gemm, int8, int4 or int4-head4, comma-separated")
        }
        guard positions >= 1, sequenceLength >= 2 else { throw ValidationError("--positions must be ≥ 1 and --sequence-length ≥ 2") }
        if let text, !FileManager.default.isReadableFile(atPath: text) { throw ValidationError("--text \(text): no such file") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: model, isDirectory: true)
        var missed: [String] = []
        do {
            KernelPath.useUnitGEMMs()
            let reference = try OPTModel(directory: directory, format: .f32, threads: threads)
            let sequences = try inputs(reference.config, directory: directory)
            let expected = try sequences.map { try logits(reference, $0) }
            let calibration = try calibrationOptions.statistics(of: reference, directory: directory)
            if !json { print(KernelPath.report + "\ndtype  positions  max |Δlogit|  mean cosine  top-1 agreement  near-ties  misses at near-ties  gate") }
            for variant in variants.compactMap({ $0 }) {
                KernelPath.useUnitGEMMs(bf16: variant.bf16GEMM)
                defer { KernelPath.useUnitGEMMs() }
                let candidate = try OPTModel(directory: directory, format: variant.weights.format,
                                             headFormat: variant.weights.headFormat, threads: threads, calibration: calibration)
                var comparison = LogitComparison(vocabulary: reference.config.vocabSize)
                for (sequence, reference) in zip(sequences, expected) {
                    comparison.add(reference, try logits(candidate, sequence))
                }
                let row = comparison.summary(dtype: variant.name, gate: variant.gate)
                let passed = row.gatePassed
                if !passed { missed.append(variant.name) }
                if json {
                    try printJSON(row)
                } else {
                    print(String(format: "%@  %d  %.5f  %.6f  %.4f  %.4f  %.4f  %@ %@", variant.name as NSString, row.positions, row.maxAbsDiff,
                                 row.meanCosine, row.top1Agreement, row.nearTies, row.missesAtNearTies, variant.gate.description as NSString,
                                 (passed ? "pass" : "MISSED") as NSString))
                }
            }
            calibrationOptions.report(calibration)
        } catch { throw CLIError(error) }
        if gates, !missed.isEmpty { throw CLIError(AccuracyGateMissed(formats: missed)) }
    }

    /// Sequences of at most --sequence-length tokens (BOS first) covering --positions positions.
    private func inputs(_ config: OPTConfig, directory: URL) throws -> [[Int]] {
        let length = min(sequenceLength, config.maxPositionEmbeddings)
        guard let text else {
            return (0..<((positions + length - 1) / length)).map {
                PseudoRandomTokens.ids(count: length, vocabulary: config.vocabSize, seed: UInt64($0))
            }
        }
        return try textSequences(text, model: directory, config: config, length: length, positions: positions)
    }

    private func logits(_ model: OPTModel, _ ids: [Int]) throws -> [Float] {
        let cache = KVCache(config: model.config, capacity: ids.count), workspace = SequenceWorkspace()
        // The whole sequence in one pass (prefill), or one token a pass (decode).
        return try (decode ? ids.map { [$0] } : [ids]).flatMap { tokens in
            try model.forward(sequences: [.init(tokens: tokens, cache: cache, logits: .all)], workspace: workspace) { Array($0[0]) }
        }
    }
}

/// A weight format as `optiml accuracy` runs it, with the gate it must pass against f32.
struct AccuracyVariant {
    let weights: WeightChoice
    /// bf16 weights with the AVX512-BF16 prefill GEMM (inputs rounded to bf16).
    let bf16GEMM: Bool

    static let bf16GEMMName = "bf16-gemm"

    init?(name: String) {
        if name == Self.bf16GEMMName {
            weights = WeightChoice(.bf16)
            bf16GEMM = true
        } else if let choice = WeightChoice(name: name), choice.format != .f32 {
            weights = choice
            bf16GEMM = false
        } else {
            return nil
        }
    }

    var name: String { bf16GEMM ? Self.bf16GEMMName : weights.name }

    /// Issue 16's gates: int8 (W8A8) and bf16 top-1 ≥ 99% and cosine ≥ 0.995; int4 (either head) top-1 ≥ 97%; f16
    /// as bf16.
    var gate: AccuracyGate {
        weights.format == .int4 ? AccuracyGate(top1: 0.97, cosine: nil) : AccuracyGate(top1: 0.99, cosine: 0.995)
    }
}

/// Minimum top-1 agreement and (where set) mean cosine with f32 logits.
struct AccuracyGate: CustomStringConvertible {
    let top1: Double
    let cosine: Double?

    func passes(cosine measured: Double, top1 agreement: Double) -> Bool {
        agreement >= top1 && measured >= (cosine ?? -1)
    }

    var description: String { "top-1≥\(top1)" + (cosine.map { " cos≥\($0)" } ?? "") }
}

/// Some formats missed their accuracy gate (`optiml accuracy --gates`).
struct AccuracyGateMissed: Error, CustomStringConvertible {
    let formats: [String]
    var description: String { "accuracy gate missed by: \(formats.joined(separator: ", "))" }
}

/// Running statistics of two sets of logit rows.
struct LogitComparison {
    let vocabulary: Int
    private(set) var positions = 0
    private var maxAbsDiff: Float = 0
    private var cosineSum = 0.0
    private var agreements = 0
    private var nearTies = 0
    private var missesAtNearTies = 0

    /// A reference position whose two largest logits are closer than this is a near-tie: almost any change of
    /// the weights may swap its top-1, so top-1 misses there say little about a format.
    static let nearTieMargin: Float = 0.05

    init(vocabulary: Int) { self.vocabulary = vocabulary }

    mutating func add(_ reference: [Float], _ candidate: [Float]) {
        for start in stride(from: 0, to: reference.count, by: vocabulary) {
            var dot = 0.0, a2 = 0.0, b2 = 0.0
            var bestA = start, bestB = start, secondA = -Float.infinity
            for i in start..<(start + vocabulary) {
                let a = Double(reference[i]), b = Double(candidate[i])
                dot += a * b
                a2 += a * a
                b2 += b * b
                maxAbsDiff = max(maxAbsDiff, abs(reference[i] - candidate[i]))
                if reference[i] > reference[bestA] {
                    secondA = reference[bestA]
                    bestA = i
                } else if i != bestA, reference[i] > secondA {
                    secondA = reference[i]
                }
                if candidate[i] > candidate[bestB] { bestB = i }
            }
            cosineSum += dot / max((a2 * b2).squareRoot(), .leastNonzeroMagnitude)
            if bestA == bestB { agreements += 1 }
            if reference[bestA] - secondA < Self.nearTieMargin {
                nearTies += 1
                if bestA != bestB { missesAtNearTies += 1 }
            }
            positions += 1
        }
    }

    /// The figures of one format, its gate judged.
    func summary(dtype: String, gate: AccuracyGate) -> AccuracyRow {
        let n = Double(max(positions, 1))
        let cosine = cosineSum / n, top1 = Double(agreements) / n
        return AccuracyRow(dtype: dtype, positions: positions, maxAbsDiff: Double(maxAbsDiff), meanCosine: cosine, top1Agreement: top1,
                           nearTies: Double(nearTies) / n, missesAtNearTies: Double(missesAtNearTies) / Double(max(positions - agreements, 1)),
                           gatePassed: gate.passes(cosine: cosine, top1: top1))
    }
}

/// One format's agreement with f32, as `optiml accuracy` prints it (one JSON object a line with `--json`).
struct AccuracyRow: Encodable {
    let dtype: String
    let positions: Int
    let maxAbsDiff: Double
    let meanCosine: Double
    let top1Agreement: Double
    /// The share of positions whose f32 top two logits are near-ties.
    let nearTies: Double
    /// The share of top-1 misses that fall on near-ties.
    let missesAtNearTies: Double
    let gatePassed: Bool

    enum CodingKeys: String, CodingKey {
        case dtype, positions
        case maxAbsDiff = "max_abs_diff", meanCosine = "mean_cosine", top1Agreement = "top1_agreement"
        case nearTies = "near_ties", missesAtNearTies = "misses_at_near_ties", gatePassed = "gate_passed"
    }
}

/// Fixed pseudo-random token ids (BOS first): benchmarks and comparisons need inputs, not meaning.
enum PseudoRandomTokens {
    static func ids(count: Int, vocabulary: Int, seed: UInt64) -> [Int] {
        var state = 0x9E37_79B9 &+ seed &* 0x1000_0001
        return [2] + (1..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return 4 + Int((state >> 33) % UInt64(min(vocabulary, 50_000) - 4))
        }
    }
}
