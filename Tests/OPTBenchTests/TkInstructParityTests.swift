import Foundation
import OPTSupport
import OPTTokenizer
import Testing
@testable import OPTBench

/// The Tk-Instruct encoding against the strings DataCollatorForNI built (tools/make_tk_prompt_fixtures.py).
@Suite("Tk-Instruct encoding")
struct TkInstructParityTests {
    struct Record: Decodable {
        struct Config: Decodable {
            let add_task_name: Bool
            let add_task_definition: Bool
            let num_pos_examples: Int
            let num_neg_examples: Int
            let add_explanation: Bool
            let max_source_length: Int
        }
        let task: String
        let instance_id: String
        let config_name: String
        let config: Config
        let source: String
        let truncated: Bool
        let pos_kept: Int
        let neg_kept: Int
    }

    static func records() throws -> [Record] {
        let lines = try JSONLinesReader(url: Paths.tkFixtures.appendingPathComponent("prompts.jsonl"))
        var records: [Record] = []
        while let line = try lines.next() {
            if !line.bytes.isEmpty { records.append(try lines.decode(Record.self, from: line)) }
        }
        return records
    }

    @Test("every source is byte-identical to DataCollatorForNI's, truncated ones included")
    func sourcesMatchByteForByte() throws {
        let records = try Self.records()
        #expect(records.count == 196)
        #expect(records.contains { $0.truncated })
        let tokenizer = try BPETokenizer.load(directory: Paths.tokenizer)
        var tasks: [String: BenchTask] = [:]
        var mismatches: [String] = []
        for record in records {
            let task = try tasks[record.task] ?? NIV2Source.task(file: Paths.tkFixtures.appendingPathComponent("tasks/\(record.task).json"))
            tasks[record.task] = task
            let instance = try #require(task.instances.first { $0.id == record.instance_id })
            let c = record.config
            let formatter = PromptFormatter(
                style: .tk(TkEncoding(addTaskName: c.add_task_name, addDefinition: c.add_task_definition, positiveExamples: c.num_pos_examples,
                                      negativeExamples: c.num_neg_examples, explanations: c.add_explanation, maxSourceLength: c.max_source_length)),
                tokenizer: tokenizer)
            let example = formatter.format(instance, of: task)
            if example.src != record.source {
                mismatches.append("\(record.task) \(record.instance_id) \(record.config_name):\n  ours   \(example.src.debugDescription)\n  theirs \(record.source.debugDescription)")
            } else if !record.truncated {
                #expect(example.shots == record.pos_kept + record.neg_kept, "\(record.task) \(record.config_name)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(records.count) differ; first: \(mismatches.first ?? "")")
    }

    @Test("Python's strip and the punctuation rule")
    func stripAndPunctuation() {
        #expect(PythonText.strip(" \u{1C}\t hello \u{3000}\n") == "hello")
        #expect(PythonText.strip(" \n ") == "")
        #expect(PromptFormatter.endingInPunctuation("Yes") == "Yes.")
        #expect(PromptFormatter.endingInPunctuation("Why?") == "Why?")
        #expect(PromptFormatter.endingInPunctuation("日本語。") == "日本語。.")
        #expect(PromptFormatter.endingInPunctuation("Input: ") == "Input: .")
    }
}
