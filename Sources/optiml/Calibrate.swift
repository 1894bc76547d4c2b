import ArgumentParser
import Foundation
import OPTModel
import OPTSupport
import OPTTokenizer

/// Token sequences cut from a text file: the file tokenized with the model's tokenizer, then sequences of at most
/// `length` tokens, each BOS and the next tokens of the text, until `positions` positions are covered.
func textSequences(_ path: String, model directory: URL, config: OPTConfig, length: Int, positions: Int) throws -> [[Int]] {
    let length = min(length, config.maxPositionEmbeddings)
    let tokenizer = try BPETokenizer.load(directory: directory)
    let ids = tokenizer.encode(try text(of: path), addBOS: false)
    var sequences: [[Int]] = [], covered = 0, start = 0
    while covered < positions, start < ids.count {
        let body = Array(ids[start..<min(ids.count, start + length - 1)])
        sequences.append([config.bosTokenId] + body)
        covered += body.count + 1
        start += body.count
    }
    guard covered >= positions else {
        throw ModelError.invalidArgument("\(path): \(covered) positions, fewer than the \(positions) asked for")
    }
    return sequences
}

/// The calibration or accuracy text at `path`, or an error naming it and why it cannot be read.
private func text(of path: String) throws -> String {
    do { return try UTF8File.read(URL(fileURLWithPath: path)) } catch { throw ModelError.invalidArgument("\(path): \(error.reason)") }
}

/// `--calibration`: text by which int4 conversions round their weights (GPTQ).
struct CalibrationOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "A text file whose inputs int4's rounding follows (GPTQ; default: each weight to its nearest level).",
        discussion: "Run through the f32 model; each int4 matrix is then rounded column by column, each error carried into the columns not yet rounded as the inputs' second moments say (Frantar et al., 2022). Use text like the model's work, apart from any text it is evaluated on."))
    var calibration: String?

    @Option(help: "Token positions of --calibration to run (sequences of up to 512 tokens).")
    var calibrationPositions = 16_384

    @Option(help: "Memory for the inputs' second moments at once (K, M or G); a model needing more takes a pass over the text per part.")
    var calibrationMemory = "2G"

    func validate() throws {
        if let calibration, !FileManager.default.isReadableFile(atPath: calibration) {
            throw ValidationError("--calibration \(calibration): no such file")
        }
        guard calibrationPositions >= 1 else { throw ValidationError("--calibration-positions must be at least 1") }
        guard Serve.bytes(calibrationMemory) != nil else {
            throw ValidationError("--calibration-memory must be a number of bytes, at least 1, optionally with K, M or G (e.g. 2G), got \(calibrationMemory)")
        }
    }

    /// The statistics of the calibration text through `model` (f32, loaded from `directory`, kept until the int4
    /// load that asks for them is done), nil without --calibration.
    func statistics(of model: OPTModel, directory: URL) throws -> CalibrationStatistics? {
        guard let calibration else { return nil }
        let sequences = try textSequences(calibration, model: directory, config: model.config, length: 512,
                                          positions: calibrationPositions)
        return CalibrationStatistics(model: model, sequences: sequences, memoryBudget: Serve.bytes(calibrationMemory) ?? 0)
    }

    /// Says on standard error what `statistics` ran.
    func report(_ statistics: CalibrationStatistics?) {
        guard let statistics, let calibration else { return }
        let line = statistics.passes == 0
            ? "calibration: no matrix was converted to int4 (stored so already?), so --calibration \(calibration) was not run\n"
            : String(format: "calibration: %d positions of %@, %d pass(es) in %.1f s\n", statistics.positions, calibration,
                     statistics.passes, statistics.gatheringSeconds)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
