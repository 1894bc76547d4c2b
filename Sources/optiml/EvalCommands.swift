import ArgumentParser
import Foundation
import OPTEval
import OPTTokenizer

/// `optiml eval`: evaluation (so far: scoring prediction files the Super-NI way).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate models on a bench, or score prediction files.",
        subcommands: [EvalScore.self])
}

/// `optiml eval score`: Super-NaturalInstructions' `eval/automatic/evaluation.py`, same keys and values.
struct EvalScore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Exact Match and ROUGE-L of predictions against references, as Super-NI's evaluation.py reports them.",
        discussion: """
        Predictions: JSONL {id, prediction}. References: JSONL {id, references, task_id?, task_category?, track?}. \
        Prints (and with --output-file writes) the same JSON as the official script: exact_match_default_track, \
        rougeL_default_track, rougeL_for_<category>_<track>_track, exact_match_for_<task>_<track>_track, … \
        The xlingual track tokenizes with GPT-2's BPE from --gpt2-tokenizer.
        """)

    @Option(help: "Predictions, one JSON object {id, prediction} a line.") var predictionFile: String
    @Option(help: "References, one JSON object {id, references, task_id?, task_category?, track?} a line.") var referenceFile: String
    @Option(help: "Write the JSON report here too (atomically).") var outputFile: String?
    @Option(help: "A folder with GPT-2's vocab.json and merges.txt, for the xlingual track.") var gpt2Tokenizer: String?
    @Flag(help: "A reference without a prediction, or a prediction of an unknown id, is an error (the script scores the first as \"\" and ignores the second).") var strict = false

    func run() throws {
        do {
            let tokenizer = try gpt2Tokenizer.map { try BPETokenizer.load(directory: URL(fileURLWithPath: $0, isDirectory: true)) }
            let options = strict ? SuperNIEvaluation.Options(missingPredictions: .fail, unknownPredictions: .fail) : .init()
            let report = try SuperNIEvaluation(crossLingualTokenizer: tokenizer, options: options)
                .evaluate(predictionsFile: URL(fileURLWithPath: predictionFile), referencesFile: URL(fileURLWithPath: referenceFile))
            print(report.json)
            if let outputFile { try Data(report.json.utf8).write(to: URL(fileURLWithPath: outputFile), options: .atomic) }
        } catch { throw CLIError(error) }
    }
}
