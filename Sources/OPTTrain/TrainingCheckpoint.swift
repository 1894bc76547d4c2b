import Foundation
import OPTSupport
import OPTCheckpoint
import OPTModel

/// What a resumed run needs besides the weights: where it was and with what settings.
public struct TrainerState: Codable, Sendable, Equatable {
    public var step: Int
    /// Mixture examples placed in the batches of the steps done.
    public var dataPosition: Int
    public var optimizerStep: Int
    /// A hash of the settings that decide the run's numbers, checked on resume.
    public var settingsHash: String
    public var lastLoss: Double?
}

/// Checkpoints of a run: `OUT/checkpoint-NNNNNN/` in the Hugging Face layout (config.json,
/// model.safetensors in float32, tokenizer files, generation_config.json) plus optimizer.safetensors
/// (AdamW's moments) and trainer_state.json; `OUT/latest` names the newest complete one.
///
/// A checkpoint is written into a hidden folder and renamed into place only when complete, and
/// `latest` moves after that, so an interrupted or failed save leaves the previous one intact.
public enum TrainingCheckpoint {
    static let latestFile = "latest"
    static let optimizerFile = "optimizer.safetensors"
    static let stateFile = "trainer_state.json"

    public static func name(step: Int) -> String {
        let digits = String(step)
        return "checkpoint-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Writes a checkpoint of `parameters` (and the optimizer and state) under `out`; returns its folder.
    @discardableResult
    public static func save(_ parameters: ParameterVector, optimizer: AdamW, state: TrainerState,
                            tokenizerFrom source: URL, to out: URL) throws -> URL {
        let fm = FileManager.default
        let final = out.appendingPathComponent(name(step: state.step))
        let temporary = out.appendingPathComponent("." + final.lastPathComponent + ".partial")
        do {
            try? fm.removeItem(at: temporary)
            try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
            try writeModel(parameters, tokenizerFrom: source, to: temporary)
            try SafeTensorsWriter.write([moment("exp_avg", optimizer.m), moment("exp_avg_sq", optimizer.v)],
                                        metadata: ["format": "optiml-adamw"], to: temporary.appendingPathComponent(optimizerFile))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(encoder.encode(state), to: temporary.appendingPathComponent(stateFile))
            // Only an earlier checkpoint of this run is replaced (re-saving a step after a resume); never anything else.
            if fm.fileExists(atPath: final.path) {
                guard fm.fileExists(atPath: final.appendingPathComponent(stateFile).path) else {
                    throw TrainingError.checkpointUnwritable(path: final.path, reason: "something that is not a checkpoint is in the way")
                }
                try fm.removeItem(at: final)
            }
            try fm.moveItem(at: temporary, to: final)
            try AtomicFile.write(Data(final.lastPathComponent.utf8), to: out.appendingPathComponent(latestFile))
        } catch let error as TrainingError {
            try? fm.removeItem(at: temporary)
            throw error
        } catch {
            try? fm.removeItem(at: temporary)
            throw TrainingError.checkpointUnwritable(path: final.path, reason: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        return final
    }

    /// Writes config.json, model.safetensors (float32, tied lm_head omitted as transformers does),
    /// generation_config.json and the tokenizer files of `source` into `directory`.
    public static func writeModel(_ parameters: ParameterVector, tokenizerFrom source: URL, to directory: URL) throws {
        let layout = parameters.layout
        let tensors = layout.slots.map { SafeTensorsWriter.Tensor(name: $0.name, dtype: .f32, shape: $0.shape, pointer: parameters.pointer + $0.offset) }
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: directory.appendingPathComponent("model.safetensors"))
        var config = layout.config
        config.torchDtype = "float32"
        try config.write(to: directory.appendingPathComponent("config.json"))
        let generation: [String: Any] = [
            "bos_token_id": config.bosTokenId, "eos_token_id": config.eosTokenId, "pad_token_id": config.padTokenId,
            "_from_model_config": true,
        ]
        try AtomicFile.write(JSONSerialization.data(withJSONObject: generation, options: [.prettyPrinted, .sortedKeys]),
                             to: directory.appendingPathComponent("generation_config.json"))
        // Tokenizer files from the source; generation_config.json is ours (written above).
        try CheckpointExport.copyCompanionFiles(CheckpointExport.companionFiles.filter { $0 != "generation_config.json" }, from: source, to: directory)
    }

    /// The newest complete checkpoint under `out`, if any.
    public static func latest(in out: URL) -> URL? {
        guard let data = try? Data(contentsOf: out.appendingPathComponent(latestFile)) else { return nil }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let url = out.appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: url.appendingPathComponent(stateFile).path) ? url : nil
    }

    /// Loads a checkpoint's weights, optimizer moments and state.
    public static func load(_ directory: URL, layout: ParameterLayout, into parameters: ParameterVector, optimizer: AdamW) throws -> TrainerState {
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(path: directory.path, reason: reason) }
        let state: TrainerState
        do {
            state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: directory.appendingPathComponent(stateFile)))
        } catch { throw fail("\(stateFile) is unreadable (\(error.localizedDescription))") }
        let saved = try ParameterVector(directory: directory)
        guard saved.layout.count == layout.count, sameShape(saved.layout.config, layout.config) else {
            throw fail("its model has a different shape from the one being trained")
        }
        parameters.pointer.update(from: saved.pointer, count: layout.count)
        let moments = try Checkpoint(safetensorsFile: directory.appendingPathComponent(optimizerFile))
        for (name, vector) in [("exp_avg", optimizer.m), ("exp_avg_sq", optimizer.v)] {
            let values = try moments.floats(name)
            guard values.count == layout.count else { throw fail("\(optimizerFile): \(name) has \(values.count) values, expected \(layout.count)") }
            values.withUnsafeBufferPointer { vector.pointer.update(from: $0.baseAddress!, count: layout.count) }
        }
        optimizer.step = state.optimizerStep
        return state
    }

    /// Configs equal but for the stored dtype.
    private static func sameShape(_ a: OPTConfig, _ b: OPTConfig) -> Bool {
        var a = a, b = b
        a.torchDtype = nil
        b.torchDtype = nil
        return a == b
    }

    /// An AdamW moment written from its buffer, uncopied.
    private static func moment(_ name: String, _ v: ParameterVector) -> SafeTensorsWriter.Tensor {
        SafeTensorsWriter.Tensor(name: name, dtype: .f32, shape: [v.layout.count], pointer: v.pointer)
    }
}
