import ArgumentParser
import Foundation
import OPTKernels
import OPTModel
import OPTTokenizer
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `optiml speed`: load time, decode and prefill speed, peak memory — per weight format.
struct Speed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure load time, decode tokens/s (batch 1 and 8), prefill tokens/s and peak RSS for each weight format.",
        discussion: """
        Decode: greedy, \(newTokensDefault) new tokens after a \(promptTokensDefault)-token prompt, the whole generate call timed \
        (prompt pass included), EOS ignored. Prefill: one forward over \(prefillTokensDefault) tokens with logits for every position. \
        Each format runs in its own process so that peak RSS is its own; figures are medians of --repeat runs after one warm-up. \
        tools/bench_peers.py runs transformers and CTranslate2 on the same checkpoint beside it.
        """)

    static let promptTokensDefault = 32, newTokensDefault = 64, prefillTokensDefault = 512

    @Option(help: "Checkpoint directory.") var model: String
    @Option(help: "Comma-separated weight formats to measure (\(WeightChoice.names)).") var dtype = "f32,f16,bf16,int8"
    @OptionGroup var threadOptions: ThreadOptions
    var threads: Int? { threadOptions.threads }
    @Option(name: .customLong("repeat"), help: "Timed runs per measurement (median reported).") var repeats = 3
    @Option(help: "Prompt tokens before decoding.") var promptTokens = promptTokensDefault
    @Option(help: "New tokens per sequence when decoding.") var newTokens = newTokensDefault
    @Option(help: "Tokens in the prefill forward.") var prefillTokens = prefillTokensDefault
    @Option(help: "Sequences in the batched decode.") var batch = 8
    @Flag(help: "One JSON object per format and line.") var json = false
    @Flag(help: "bf16 weights: prefill on AVX512-BF16 with inputs rounded to bf16 (see `optiml generate --help`).") var bf16Gemm = false

    var formats: [String] { dtype.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func validate() throws {
        for format in formats where WeightChoice(name: format) == nil {
            throw ValidationError("--dtype \(format): expected \(WeightChoice.names)")
        }
        if repeats < 1 || promptTokens < 1 || newTokens < 1 || prefillTokens < 1 || batch < 1 {
            throw ValidationError("--repeat, --prompt-tokens, --new-tokens, --prefill-tokens and --batch must be at least 1")
        }
    }

    func run() throws {
        KernelPath.useUnitGEMMs(bf16: bf16Gemm)
        if formats.count == 1, let format = WeightChoice(name: formats[0]) {
            let row = try measure(format)
            print(json ? row.json : KernelPath.report + "\n" + SpeedRow.header + "\n" + row.line)
            return
        }
        // One child process per format, so that each peak RSS is that format's alone.
        // The children run on the same processor, so the paths are printed once here.
        if !json { print(KernelPath.report + "\n" + SpeedRow.header) }
        for format in formats {
            var arguments = ["speed", "--model", model, "--dtype", format, "--json", "--repeat", "\(repeats)",
                             "--prompt-tokens", "\(promptTokens)", "--new-tokens", "\(newTokens)",
                             "--prefill-tokens", "\(prefillTokens)", "--batch", "\(batch)"]
            if let threads { arguments += ["--threads", "\(threads)"] }
            if bf16Gemm { arguments.append("--bf16-gemm") }
            let output = try runChild(arguments)
            guard let row = SpeedRow(json: output) else { throw CLIError(SpeedFailure(format: format, output: output)) }
            print(json ? row.json : row.line)
        }
    }

    private func runChild(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = Bundle.main.executableURL
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func measure(_ choice: WeightChoice) throws -> SpeedRow {
        let directory = URL(fileURLWithPath: model, isDirectory: true)
        let loadStart = Date()
        let loaded: OPTModel
        do {
            loaded = try OPTModel(directory: directory, format: choice.format, headFormat: choice.headFormat, threads: threads)
        } catch { throw CLIError(error) }
        let loadSeconds = Date().timeIntervalSince(loadStart)

        let generator: Generator
        do { generator = Generator(model: loaded, tokenizer: try BPETokenizer.load(directory: directory)) } catch { throw CLIError(error) }
        var parameters = GenerationParameters()
        parameters.maxNewTokens = newTokens
        parameters.stopAtEOS = false

        // Fixed pseudo-random prompts: speed does not depend on which tokens they are.
        let vocabulary = loaded.config.vocabSize
        let single = [PseudoRandomTokens.ids(count: promptTokens, vocabulary: vocabulary, seed: 0)]
        let batched = (0..<batch).map { PseudoRandomTokens.ids(count: promptTokens, vocabulary: vocabulary, seed: UInt64($0 + 1)) }
        let prefill = PseudoRandomTokens.ids(count: prefillTokens, vocabulary: vocabulary, seed: 99)
        do {
            let decode1 = try medianSeconds { _ = try generator.generate(promptIDs: single, parameters: parameters) }
            let decode8 = try medianSeconds { _ = try generator.generate(promptIDs: batched, parameters: parameters) }
            // The generator's workspaces and KV-cache buffers, kept from run to run as in every other call of the engine.
            let prefillSeconds = try medianSeconds {
                let cache = generator.workspaces.cache(config: loaded.config, capacity: prefillTokens)
                try generator.workspaces.with { try loaded.forward(sequences: [.init(tokens: prefill, cache: cache, logits: .all)], workspace: $0) { _ in } }
            }
            // The work buffers the runs grew to, plus the KV caches of the run that holds the most at once.
            let caches = max(KVCache.bytes(config: loaded.config, capacity: prefillTokens),
                             batch * KVCache.bytes(config: loaded.config, capacity: promptTokens + newTokens))
            return SpeedRow(
                dtype: choice.name, loadSeconds: loadSeconds,
                decodeB1: Double(newTokens) / decode1, decodeB8: Double(batch * newTokens) / decode8,
                prefill: Double(prefillTokens) / prefillSeconds, peakRSSMB: peakRSSMegabytes(),
                weightsMB: megabytes(loaded.weights.residentBytes), workspaceMB: megabytes(generator.workspaces.workBytes + caches))
        } catch { throw CLIError(error) }
    }

    private func medianSeconds(_ body: () throws -> Void) throws -> Double {
        try body()
        var times = [Double]()
        for _ in 0..<repeats {
            let start = Date()
            try body()
            times.append(Date().timeIntervalSince(start))
        }
        return times.sorted()[times.count / 2]
    }
}

/// One format's figures, as a table line or a JSON object (the schema tools/bench_peers.py reads).
struct SpeedRow: Codable {
    var engine = "optiml"
    var dtype: String
    var loadSeconds: Double
    var decodeB1: Double
    var decodeB8: Double
    var prefill: Double
    var peakRSSMB: Double
    /// The weights in memory in their format, and the work buffers and KV caches of the largest run:
    /// peak RSS beyond their sum is the process itself (about 30 MB) and what loading left behind.
    var weightsMB: Double
    var workspaceMB: Double

    enum CodingKeys: String, CodingKey {
        case engine, dtype
        case loadSeconds = "load_s"
        case decodeB1 = "decode_b1_tps"
        case decodeB8 = "decode_b8_tps"
        case prefill = "prefill_tps"
        case peakRSSMB = "peak_rss_mb"
        case weightsMB = "weights_mb"
        case workspaceMB = "workspace_mb"
    }

    init(dtype: String, loadSeconds: Double, decodeB1: Double, decodeB8: Double, prefill: Double, peakRSSMB: Double,
         weightsMB: Double, workspaceMB: Double) {
        self.dtype = dtype
        self.loadSeconds = loadSeconds
        self.decodeB1 = decodeB1
        self.decodeB8 = decodeB8
        self.prefill = prefill
        self.peakRSSMB = peakRSSMB
        self.weightsMB = weightsMB
        self.workspaceMB = workspaceMB
    }

    init?(json: String) {
        guard let row = try? JSONDecoder().decode(SpeedRow.self, from: Data(json.utf8)) else { return nil }
        self = row
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    static let header = "engine  dtype  load s  decode b1 tok/s  decode b8 tok/s  prefill tok/s  peak RSS MB  weights MB  workspace MB  peak/(weights+workspace)"
    var line: String {
        func f(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
        return "\(engine)  \(dtype)  \(f(loadSeconds, 2))  \(f(decodeB1, 1))  \(f(decodeB8, 1))  \(f(prefill, 1))  \(f(peakRSSMB, 0))"
            + "  \(f(weightsMB, 0))  \(f(workspaceMB, 0))  \(f(peakRSSMB / (weightsMB + workspaceMB), 2))"
    }
}

/// A child measurement that printed no figures.
struct SpeedFailure: Error, CustomStringConvertible {
    let format: String
    let output: String
    var description: String { "the \(format) measurement failed: \(output.isEmpty ? "no output" : output)" }
}

/// This process's resource usage (getrusage's RUSAGE_SELF).
private func selfUsage() -> rusage {
    var usage = rusage()
    #if canImport(Glibc)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    return usage
}

/// This process's CPU time so far (user + system, every thread), in seconds.
func cpuSeconds() -> Double {
    let usage = selfUsage()
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Bytes in MB (2^20, as peak RSS is reported).
func megabytes(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }

/// This process's peak resident memory in MB.
func peakRSSMegabytes() -> Double {
    let usage = selfUsage()
    #if canImport(Darwin)
    return Double(usage.ru_maxrss) / 1_048_576  // bytes
    #else
    return Double(usage.ru_maxrss) / 1024  // kilobytes
    #endif
}
