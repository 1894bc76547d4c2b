import ArgumentParser
import Foundation
import OPTKernels
import OPTModel

/// `optiml accuracy`: how far the compressed weight formats move the logits from f32.
struct Accuracy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare the logits of f16, bf16 and int8 weights with f32 on the same inputs.",
        discussion: "Runs fixed pseudo-random token sequences through the model in f32 and in each format and reports, over every position, the largest absolute logit difference, the mean cosine similarity and the top-1 agreement.")

    @Option(help: "Checkpoint directory.") var model: String
    @Option(help: "Comma-separated formats to compare with f32.") var dtype = "f16,bf16,int8"
    @Option(help: "Positions to compare (sequences of --sequence-length tokens).") var positions = 1024
    @Option(help: "Tokens per sequence.") var sequenceLength = 256
    @Option(help: "Threads (default: every core).") var threads: Int?
    @Flag(help: "One JSON object per format and line.") var json = false
    @Flag(help: "bf16 weights: prefill on AVX512-BF16 with inputs rounded to bf16 (see `optiml generate --help`).") var bf16Gemm = false

    var formats: [WeightFormat] { dtype.split(separator: ",").compactMap { WeightFormat(rawValue: String($0)) } }

    func validate() throws {
        guard formats.count == dtype.split(separator: ",").count else { throw ValidationError("--dtype: expected f16, bf16 or int8, comma-separated") }
        guard positions >= 1, sequenceLength >= 2 else { throw ValidationError("--positions must be ≥ 1 and --sequence-length ≥ 2") }
    }

    func run() throws {
        KernelPath.useUnitGEMMs(bf16: bf16Gemm)
        let directory = URL(fileURLWithPath: model, isDirectory: true)
        do {
            let reference = try OPTModel(directory: directory, format: .f32, threads: threads)
            let length = min(sequenceLength, reference.config.maxPositionEmbeddings)
            let sequences = (0..<((positions + length - 1) / length)).map { PseudoRandomTokens.ids(count: length, vocabulary: reference.config.vocabSize, seed: UInt64($0)) }
            let expected = try sequences.map { try logits(reference, $0) }
            if !json { print("dtype  positions  max |Δlogit|  mean cosine  top-1 agreement") }
            for format in formats {
                let candidate = try OPTModel(directory: directory, format: format, threads: threads)
                var comparison = LogitComparison(vocabulary: reference.config.vocabSize)
                for (sequence, reference) in zip(sequences, expected) {
                    comparison.add(reference, try logits(candidate, sequence))
                }
                let row = comparison.summary
                if json {
                    print("{\"dtype\":\"\(format.rawValue)\",\"positions\":\(row.positions),\"max_abs_diff\":\(row.maxAbsDiff),\"mean_cosine\":\(row.meanCosine),\"top1_agreement\":\(row.top1Agreement)}")
                } else {
                    print(String(format: "%@  %d  %.5f  %.6f  %.4f", format.rawValue as NSString, row.positions, row.maxAbsDiff, row.meanCosine, row.top1Agreement))
                }
            }
        } catch { throw CLIError(error) }
    }

    private func logits(_ model: OPTModel, _ ids: [Int]) throws -> [Float] {
        let cache = KVCache(config: model.config, batchSize: 1, capacity: ids.count)
        return try model.forward(tokens: [ids], realToken: [ids.map { _ in true }], cache: cache, logits: .all) { Array($0) }
    }
}

/// Running statistics of two sets of logit rows.
struct LogitComparison {
    let vocabulary: Int
    private(set) var positions = 0
    private var maxAbsDiff: Float = 0
    private var cosineSum = 0.0
    private var agreements = 0

    init(vocabulary: Int) { self.vocabulary = vocabulary }

    mutating func add(_ reference: [Float], _ candidate: [Float]) {
        for start in stride(from: 0, to: reference.count, by: vocabulary) {
            var dot = 0.0, a2 = 0.0, b2 = 0.0
            var bestA = start, bestB = start
            for i in start..<(start + vocabulary) {
                let a = Double(reference[i]), b = Double(candidate[i])
                dot += a * b
                a2 += a * a
                b2 += b * b
                maxAbsDiff = max(maxAbsDiff, abs(reference[i] - candidate[i]))
                if reference[i] > reference[bestA] { bestA = i }
                if candidate[i] > candidate[bestB] { bestB = i }
            }
            cosineSum += dot / max((a2 * b2).squareRoot(), .leastNonzeroMagnitude)
            if bestA == bestB { agreements += 1 }
            positions += 1
        }
    }

    var summary: (positions: Int, maxAbsDiff: Double, meanCosine: Double, top1Agreement: Double) {
        (positions, Double(maxAbsDiff), cosineSum / Double(max(positions, 1)), Double(agreements) / Double(max(positions, 1)))
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
