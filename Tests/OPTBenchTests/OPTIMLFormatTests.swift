import Foundation
import OPTTokenizer
import Testing
@testable import OPTBench

/// The OPT-IML encoding: delimiters, options, demonstrations and the token budget.
@Suite("OPT-IML encoding")
struct OPTIMLFormatTests {
    func task(level: InstructionLevel = .task, benchmark: String = "niv2", options: [String]? = nil) -> BenchTask {
        var task = syntheticTask("t", category: "A", count: 10, benchmark: benchmark)
        task.instructionLevel = level
        task.definition = level == .task ? ["  Classify the sentence.  "] : []
        task.options = options
        for index in task.instances.indices {
            task.instances[index].input = "sentence \(index)"
            task.instances[index].outputs = [index % 2 == 0 ? "no" : "yes"]
            task.instances[index].split = index < 6 ? .train : .test
        }
        return task
    }

    func format(_ task: BenchTask, _ index: Int, _ encoding: OPTIMLEncoding = OPTIMLEncoding(), seed: UInt64 = 0,
                tokenizer: BPETokenizer? = nil) -> FormattedExample {
        PromptFormatter(style: .optIML(encoding), seed: seed, tokenizer: tokenizer).format(task.instances[index], of: task)
    }

    @Test("zero-shot: instruction, blank line, input and a delimiter from the paper's list; target after a space")
    func zeroShot() {
        let example = format(task(), 7)
        let delimiter = OPTIMLEncoding.delimiters.first { example.src.hasSuffix($0) }
        #expect(delimiter != nil)
        #expect(example.src == "Classify the sentence.\n\nsentence 7" + (delimiter ?? ""))
        #expect(example.tgt == " yes")
        #expect(example.candidates == nil && example.gold == nil)
    }

    @Test("delimiters are sampled per example, reproducibly for a seed, and skipped after a colon")
    func delimiters() {
        let t = task()
        let seen = Set((0..<10).map { index in OPTIMLEncoding.delimiters.first { format(t, index).src.hasSuffix($0) } ?? "" })
        #expect(seen.count >= 3)
        #expect(format(t, 3, seed: 5) == format(t, 3, seed: 5))
        var colon = t
        colon.instances[0].input = "Sentence: hello. Label:"
        #expect(format(colon, 0).src == "Classify the sentence.\n\nSentence: hello. Label:")
        #expect(format(t, 0, OPTIMLEncoding(delimiter: "\nA:")).src.hasSuffix("sentence 0\nA:"))
    }

    @Test("options in FLAN style, inline, or not shown; candidates carry the leading space and gold points at the reference")
    func options() {
        let flan = format(task(benchmark: "flan", options: ["no", "yes"]), 7, OPTIMLEncoding(delimiter: "\nA:"))
        #expect(flan.src == "Classify the sentence.\n\nsentence 7\n\nOPTIONS:\n- no\n- yes\nA:")
        #expect(flan.candidates == [" no", " yes"] && flan.gold == 1)
        let inline = format(task(benchmark: "crossfit", options: ["no", "yes"]), 6, OPTIMLEncoding(delimiter: " A:"))
        #expect(inline.src == "Classify the sentence.\n\nsentence 6\nOptions: (A) no (B) yes A:")
        #expect(inline.gold == 0)
        let hidden = format(task(options: ["no", "yes"]), 6, OPTIMLEncoding(delimiter: " A:"))
        #expect(hidden.src == "Classify the sentence.\n\nsentence 6 A:")
        #expect(hidden.candidates == [" no", " yes"])
    }

    @Test("k demonstrations from the training instances, never the query, between instruction and query")
    func demonstrations() {
        let t = task()
        let encoding = OPTIMLEncoding(shots: 3, delimiter: "\nA:")
        let example = format(t, 8, encoding)
        #expect(example.shots == 3)
        let parts = example.src.components(separatedBy: "\n\n\n")
        #expect(parts.count == 4)
        #expect(parts[0].hasPrefix("Classify the sentence.\n\nsentence "))
        #expect(parts[3] == "sentence 8\nA:")
        let demoInputs = parts.enumerated().map { $0.offset == 0 ? String($0.element.dropFirst("Classify the sentence.\n\n".count)) : $0.element }.prefix(3)
        for demo in demoInputs {
            let number = Int(demo.split(separator: " ")[1].split(separator: "\n")[0])!
            #expect(number < 6, "drawn from the training split")
            #expect(demo == "sentence \(number)\nA: \(number % 2 == 0 ? "no" : "yes")")
        }
        // A training instance as the query never sees itself.
        for index in 0..<6 {
            let src = format(t, index, OPTIMLEncoding(shots: 5, delimiter: "\nA:")).src
            #expect(src.components(separatedBy: "sentence \(index)\n").count == 2, "sentence \(index) once, as the query")
        }
        #expect(format(t, 8, encoding, seed: 1) == format(t, 8, encoding, seed: 1))
    }

    @Test("instance-level instructions: demonstrations come before the query, no task instruction")
    func instanceLevel() {
        let example = format(task(level: .instance), 9, OPTIMLEncoding(shots: 1, separator: "\n###\n", delimiter: " A:"))
        let parts = example.src.components(separatedBy: "\n###\n")
        #expect(parts.count == 2)
        #expect(parts[0].hasPrefix("sentence ") && (parts[0].hasSuffix(" A: no") || parts[0].hasSuffix(" A: yes")))
        #expect(parts[1] == "sentence 9 A:")
    }

    @Test("a token budget drops the farthest demonstrations first, then cuts on the left")
    func tokenBudget() throws {
        let tokenizer = try BPETokenizer.load(directory: Paths.tokenizer)
        let t = task()
        let full = format(t, 8, OPTIMLEncoding(shots: 4, delimiter: "\nA:"))
        let fullTokens = tokenizer.encode(full.src, addBOS: false).count
        let budget = fullTokens - 5
        let trimmed = format(t, 8, OPTIMLEncoding(shots: 4, delimiter: "\nA:", maxTokens: budget), tokenizer: tokenizer)
        #expect(trimmed.shots == 3)
        #expect(tokenizer.encode(trimmed.src, addBOS: false).count <= budget)
        #expect(trimmed.src.hasSuffix("sentence 8\nA:"))
        let tiny = format(t, 8, OPTIMLEncoding(shots: 4, delimiter: "\nA:", maxTokens: 4), tokenizer: tokenizer)
        #expect(tiny.shots == 0)
        #expect(tokenizer.encode(tiny.src, addBOS: false).count <= 4)
        #expect(tiny.src.hasSuffix("\nA:"))
    }
}
