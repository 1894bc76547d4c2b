import Foundation
import OPTSupport
import OPTBench
import OPTCheckpoint
import OPTModel
import OPTTokenizer

/// Which tokenizer a stream was tokenized with: a hash of its files' contents, so that a trainer
/// elsewhere can check that its checkpoint reads the same ids.
public struct TokenizerIdentity: Codable, Sendable, Equatable {
    /// SHA-256 over `name "\n" sha256(content) "\n"` of each file in `files`, in that (sorted) order.
    public var sha256: String
    public var files: [String]
    public var vocabSize: Int
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    public var padTokenId: Int

    enum CodingKeys: String, CodingKey {
        case sha256, files
        case vocabSize = "vocab_size"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case padTokenId = "pad_token_id"
    }

    /// The tokenizer files a checkpoint carries (those `TrainingCheckpoint` copies), generation settings aside.
    public static let fileNames = CheckpointExport.companionFiles.filter { $0 != "generation_config.json" }.sorted()

    /// The identity of the tokenizer in `model` (a checkpoint folder).
    public static func of(model: URL, tokenizer: BPETokenizer, padTokenId: Int) throws -> TokenizerIdentity {
        var listing = "", files: [String] = []
        for name in fileNames {
            let url = model.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            listing += name + "\n" + (try ContentHash.sha256(file: url)) + "\n"
            files.append(name)
        }
        return TokenizerIdentity(sha256: ContentHash.sha256(Data(listing.utf8)), files: files, vocabSize: tokenizer.vocabularySize,
                                 bosTokenId: tokenizer.bosTokenID, eosTokenId: tokenizer.eosTokenID, padTokenId: padTokenId)
    }
}

/// `manifest.json` of an exported training stream.
public struct StreamManifest: Codable, Sendable, Equatable {
    public static let formatName = "optiml-training-stream"
    public static let currentVersion = 1

    /// One safetensors file holding consecutive steps.
    public struct Shard: Codable, Sendable, Equatable {
        public var file: String
        public var firstStep: Int
        public var steps: Int
        public var rows: Int
        /// Mixture examples placed before its first step and after its last one.
        public var dataPositionStart: Int
        public var dataPositionEnd: Int
        /// Tokens that belong to examples (not padding), and those that carry a loss.
        public var tokens: Int
        public var labels: Int
        public var bytes: Int
        public var sha256: String

        enum CodingKeys: String, CodingKey {
            case file, steps, rows, tokens, labels, bytes, sha256
            case firstStep = "first_step"
            case dataPositionStart = "data_position_start"
            case dataPositionEnd = "data_position_end"
        }
    }

    /// Where the exported examples came from.
    public struct Drawn: Codable, Sendable, Equatable {
        public var examples: Int
        public var sources: [String: Int]
        /// `sources` divided by `examples`.
        public var shares: [String: Double]
        public var tasks: [String: Int]
    }

    public var format: String
    public var version: Int
    public var tokenizer: TokenizerIdentity
    public var seqLen: Int
    public var rowsPerStep: Int
    public var microBatchSize: Int
    /// The run's steps (the schedule's length); the export holds `firstStep` up to the last shard's end.
    public var steps: Int
    public var firstStep: Int
    /// `TrainerSettings`' hash of what decides a run's numbers: the hash `optiml tune` checks on resume.
    public var settingsHash: String
    /// The run's settings: the reference trainer takes its optimizer, schedule and dropout from them.
    public var settings: TrainerSettings
    public var mixture: Drawn
    public var shards: [Shard]

    enum CodingKeys: String, CodingKey {
        case format, version, tokenizer, steps, settings, mixture, shards
        case seqLen = "seq_len"
        case rowsPerStep = "rows_per_step"
        case microBatchSize = "micro_batch_size"
        case firstStep = "first_step"
        case settingsHash = "settings_hash"
    }

    /// The step after the last exported one, as a count of steps done.
    public var stepsDone: Int { shards.last.map { $0.firstStep + $0.steps - 1 } ?? firstStep - 1 }
}

/// Writes the rows `optiml tune` would train on to a folder that PyTorch reads without this project.
///
/// Each shard `steps-FIRST-LAST.safetensors` holds whole steps, `rows_per_step` rows each, as int32
/// tensors: `input_ids`, `labels` (transformers' convention: the token itself where it carries a
/// loss, -100 elsewhere; the model shifts), `position_ids` (restarting at 0 with each example) `[rows,
/// seq_len]`, and `cu_seqlens` (flash-attention's cumulative lengths over the shard's flattened rows:
/// every example and every row's padding tail is one sequence, so each row's start is a boundary).
/// A shard is written whole and renamed into place, then `manifest.json` is rewritten to list it, so
/// an interrupted export holds only complete shards and continues after the last one.
public enum StreamExport {
    public static let manifestFile = "manifest.json"

    /// Shard size for memory: about this many bytes of rows.
    static let shardBytes = 128 << 20

    /// The shard file of steps `first...last`.
    public static func shardName(first: Int, last: Int) -> String {
        func padded(_ n: Int) -> String { String(repeating: "0", count: max(0, 7 - String(n).count)) + String(n) }
        return "steps-\(padded(first))-\(padded(last)).safetensors"
    }

    /// Exports steps `fromStep + 1 ... settings.steps` of the run `settings` describes on `model`
    /// (its tokenizer and config) and `bench`, or continues the export already in `directory`.
    /// `progress` gets the manifest after each shard.
    @discardableResult
    public static func run(model: URL, bench: URL?, settings: TrainerSettings, to directory: URL, fromStep: Int? = nil,
                           shardSteps: Int? = nil, progress: (StreamManifest) throws -> Void = { _ in }) throws -> StreamManifest {
        let s = settings
        guard s.steps > 0, s.batchSize > 0, s.microBatchSize > 0, s.batchSize % s.microBatchSize == 0 else {
            throw TrainingError.invalidOption("--steps and --batch-size must be positive and --batch-size a multiple of --micro-batch-size")
        }
        let rowBytes = s.sequenceLength * 3 * MemoryLayout<Int32>.size
        let perShard = shardSteps ?? max(1, shardBytes / max(1, s.batchSize * rowBytes))
        guard perShard > 0, (fromStep ?? 0) >= 0, (fromStep ?? 0) < s.steps else {
            throw TrainingError.invalidOption("--export-shard-steps must be positive and --export-from below --steps (\(s.steps))")
        }
        let configURL = model.appendingPathComponent("config.json")
        let config = try OPTConfig.load(from: configURL)
        guard s.sequenceLength >= 2, s.sequenceLength <= config.maxPositionEmbeddings else {
            throw TrainingError.invalidOption("--seq-len \(s.sequenceLength) is beyond the model's \(config.maxPositionEmbeddings) positions (max_position_embeddings in \(configURL.path))")
        }
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        // What an interrupted atomic write (a shard, the manifest) left behind: never part of the export.
        for name in try fm.contentsOfDirectory(atPath: directory.path) where name.hasPrefix(".") && name.hasSuffix(".tmp") {
            try fm.removeItem(at: directory.appendingPathComponent(name))
        }
        let pad = Int32(config.padTokenId)
        let manifestURL = directory.appendingPathComponent(manifestFile)
        var manifest: StreamManifest
        let stream: TrainingStream
        if fm.fileExists(atPath: manifestURL.path) {
            manifest = try readManifest(manifestURL)
            stream = try TrainingStream(model: model, vocabSize: config.vocabSize, padToken: pad, bench: bench, settings: s,
                                        position: manifest.shards.last?.dataPositionEnd ?? 0)
            let identity = try TokenizerIdentity.of(model: model, tokenizer: stream.tokenizer, padTokenId: config.padTokenId)
            guard manifest.settingsHash == s.numericHash else {
                throw TrainingError.invalidExport(path: directory.path, reason: "it holds an export of other settings (settings hash \(manifest.settingsHash), these are \(s.numericHash)); export into another folder")
            }
            guard manifest.tokenizer == identity else {
                throw TrainingError.invalidExport(path: directory.path, reason: "it was exported with another tokenizer (sha256 \(manifest.tokenizer.sha256), \(model.path) has \(identity.sha256))")
            }
            if let fromStep, fromStep != manifest.firstStep - 1 {
                throw TrainingError.invalidExport(path: directory.path, reason: "it holds an export from step \(manifest.firstStep - 1), not \(fromStep); export into another folder")
            }
        } else {
            let start = fromStep ?? 0
            stream = try TrainingStream(model: model, vocabSize: config.vocabSize, padToken: pad, bench: bench, settings: s)
            // Where step `start` ends depends on every example before it: pack through them.
            for _ in 0..<start { _ = try stream.nextStep() }
            manifest = StreamManifest(
                format: StreamManifest.formatName, version: StreamManifest.currentVersion,
                tokenizer: try TokenizerIdentity.of(model: model, tokenizer: stream.tokenizer, padTokenId: config.padTokenId),
                seqLen: s.sequenceLength, rowsPerStep: s.batchSize, microBatchSize: s.microBatchSize, steps: s.steps, firstStep: start + 1,
                settingsHash: s.numericHash, settings: s, mixture: .init(examples: 0, sources: [:], shares: [:], tasks: [:]), shards: [])
        }
        var tally = stream.mixture.tally(from: manifest.shards.first?.dataPositionStart ?? stream.position)
        stream.mixture.count(&tally, upTo: stream.position)

        while manifest.stepsDone < s.steps {
            let first = manifest.stepsDone + 1, count = min(perShard, s.steps - manifest.stepsDone)
            let startPosition = stream.position
            var shard = ShardBuffers(rows: count * s.batchSize, length: s.sequenceLength)
            for _ in 0..<count {
                for batch in try stream.nextStep() { shard.append(batch) }
            }
            let name = shardName(first: first, last: first + count - 1), url = directory.appendingPathComponent(name)
            try SafeTensorsWriter.write(shard.tensors(), metadata: ["format": StreamManifest.formatName, "first_step": String(first),
                                                                   "steps": String(count), "rows_per_step": String(s.batchSize)], to: url)
            stream.mixture.count(&tally, upTo: stream.position)
            manifest.shards.append(.init(file: name, firstStep: first, steps: count, rows: count * s.batchSize, dataPositionStart: startPosition,
                                         dataPositionEnd: stream.position, tokens: shard.tokens, labels: shard.labels,
                                         bytes: Int(try fm.attributesOfItem(atPath: url.path)[.size] as? UInt64 ?? 0),
                                         sha256: try ContentHash.sha256(file: url)))
            manifest.mixture = .init(examples: tally.examples, sources: tally.sources,
                                     shares: tally.sources.mapValues { Double($0) / Double(max(tally.examples, 1)) }, tasks: tally.tasks)
            try writeManifest(manifest, to: manifestURL)
            try progress(manifest)
        }
        return manifest
    }

    /// Reads an export's manifest.
    public static func readManifest(_ url: URL) throws -> StreamManifest {
        let manifest: StreamManifest
        do { manifest = try JSONDecoder().decode(StreamManifest.self, from: Data(contentsOf: url)) } catch {
            throw TrainingError.invalidExport(path: url.path, reason: "not a readable stream manifest (\(error))")
        }
        guard manifest.format == StreamManifest.formatName, manifest.version == StreamManifest.currentVersion else {
            throw TrainingError.invalidExport(path: url.path, reason: "format \(manifest.format) version \(manifest.version); expected \(StreamManifest.formatName) version \(StreamManifest.currentVersion)")
        }
        return manifest
    }

    private static func writeManifest(_ manifest: StreamManifest, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Through AtomicFile, whose temporary files the next run recognises and removes (Foundation's
        // `.atomic` names them otherwise).
        try AtomicFile.write(encoder.encode(manifest), to: url)
    }
}

/// A shard's tensors as little-endian int32 bytes, filled batch by batch.
private struct ShardBuffers {
    let length: Int
    var inputIDs: [UInt8] = [], labelIDs: [UInt8] = [], positionIDs: [UInt8] = [], boundaries: [UInt8] = []
    var rows = 0, tokens = 0, labels = 0

    init(rows: Int, length: Int) {
        self.length = length
        let bytes = rows * length * 4
        inputIDs.reserveCapacity(bytes)
        labelIDs.reserveCapacity(bytes)
        positionIDs.reserveCapacity(bytes)
        boundaries.reserveCapacity(bytes / 16)
        append([0])
    }

    mutating func append(_ batch: PackedBatch) {
        inputIDs += bytes(batch.tokens)
        positionIDs += bytes(batch.positions)
        // `targets[i]` is what position i predicts; transformers' labels name each token's own loss.
        var shifted = [Int32](repeating: -100, count: batch.targets.count)
        for i in batch.targets.indices where i % length != length - 1 && batch.targets[i] >= 0 { shifted[i + 1] = batch.targets[i] }
        labelIDs += bytes(shifted)
        labels += batch.labelCount
        for segment in batch.segments {
            // Padding is the only segment without a label (an example's closing EOS always has one).
            let base = segment.row * length + segment.start
            if (base..<(base + segment.count)).contains(where: { shifted[$0] != -100 }) { tokens += segment.count }
        }
        let offset = Int32(rows * length)
        append(batch.segments.map { offset + Int32($0.row * length + $0.start + $0.count) })
        rows += batch.rows
    }

    private mutating func append(_ ends: [Int32]) { boundaries += bytes(ends) }

    private func bytes(_ values: [Int32]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    func tensors() -> [(name: String, dtype: TensorDType, shape: [Int], bytes: [UInt8])] {
        [("input_ids", .i32, [rows, length], inputIDs), ("labels", .i32, [rows, length], labelIDs),
         ("position_ids", .i32, [rows, length], positionIDs), ("cu_seqlens", .i32, [boundaries.count / 4], boundaries)]
    }
}
