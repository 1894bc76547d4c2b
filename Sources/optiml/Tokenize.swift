import ArgumentParser
import Foundation
import OPTTokenizer

/// `optiml tokenize`: the ids the model sees for a text.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids of a text, BOS included.")

    @OptionGroup var modelOptions: ModelOptions
    @Flag(help: "Print a JSON object with ids and tokens.") var json = false
    @Argument(help: "The text to tokenize.") var text: String

    func run() throws {
        let tokenizer: BPETokenizer
        do { tokenizer = try BPETokenizer.load(directory: modelOptions.directory) } catch { throw CLIError(error) }
        let ids = tokenizer.encode(text)
        if json {
            try printJSON(TokenizeOutput(ids: ids, tokens: ids.map { tokenizer.token(forID: $0) ?? "" }))
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }
}

private struct TokenizeOutput: Encodable {
    let ids: [Int]
    let tokens: [String]
}
