import ArgumentParser
import Foundation
import OPTModel

/// `optiml generate`: stream a continuation of a prompt.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text from a prompt, streaming it as it is produced.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The prompt; read from standard input when absent.") var prompt: String?
    @Option(help: "New tokens to produce at most.") var maxNewTokens = 32
    @Option(help: "Sampling temperature; 0 decodes greedily.") var temperature: Float = 0
    @Option(help: "Sample among the k most likely tokens (0: all).") var topK = 0
    @Option(help: "Sample among the smallest set of tokens with this much probability.") var topP: Float = 1
    @Option(help: "Seed of the sampler.") var seed: UInt64 = 0
    @Option(help: "Penalty (> 1) for tokens already in the sequence, as in transformers.") var repetitionPenalty: Float = 1
    @Option(help: "Never repeat an n-gram of this size (0: off).") var noRepeatNgramSize = 0
    @Option(help: "Stop when the text contains this string (repeatable).") var stop: [String] = []
    @Flag(help: "Print one JSON object (prompt_ids, output_ids, text, finish_reason) instead of streaming.") var json = false

    var parameters: GenerationParameters {
        var p = GenerationParameters()
        p.maxNewTokens = maxNewTokens
        p.temperature = temperature
        p.topK = topK
        p.topP = topP
        p.seed = seed
        p.repetitionPenalty = repetitionPenalty
        p.noRepeatNgramSize = noRepeatNgramSize
        p.stop = stop
        return p
    }

    func validate() throws {
        do { try parameters.validate() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let text = prompt ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let generator = try modelOptions.loadGenerator()
        do {
            let result = try generator.generate(prompt: text, parameters: parameters, onText: json ? { _ in } : writeNow)
            if json {
                try printJSON(GenerateOutput(
                    prompt_ids: result.promptIDs, output_ids: result.outputIDs, text: result.text,
                    finish_reason: result.finishReason.rawValue))
            } else {
                writeNow("\n")
            }
        } catch { throw CLIError(error) }
    }
}

private struct GenerateOutput: Encodable {
    let prompt_ids: [Int]
    let output_ids: [Int]
    let text: String
    let finish_reason: String
}
