import Foundation
import OPTSupport
import OPTTemplate
import Yams

/// One PromptSource template (a `!Template` of a `templates.yaml`), parsed once and applied to many rows
/// exactly as PromptSource 0.2.3's `Template.apply` and `get_answer_choices_list` do.
public struct PromptSourceTemplate: Sendable {
    public var id: String
    public var name: String
    /// The template's Jinja source: prompt and target separated by `|||`.
    public var jinja: String
    /// The answer choices' Jinja source (choices separated by `|||`), when the template has choices.
    public var answerChoices: String?
    /// Whether the template asks the dataset's original task (T0 and the paper train on these only).
    public var originalTask: Bool
    public var choicesInPrompt: Bool?
    public var metrics: [String]
    public var languages: [String]
    /// Whether the template draws with PromptSource's random `choice` filter (its output varies with the seed).
    public var usesChoice: Bool
    private let prompt: Template
    private let choices: Template?

    /// PromptSource truncates every variable it prints: `apply` rewrites each `}}` of the source so.
    static let truncation = " | string | truncate(2048) }}"
    /// What `|||` inside a row's strings becomes while rendering, so that only the template's own separators split.
    static let pipeProtector = "3ed2dface8203c4c9dfb1a5dc58e41e0"

    /// Parses both Jinja sources; a syntax error or an unknown filter names the template, line and column.
    public init(id: String, name: String, jinja: String, answerChoices: String?, originalTask: Bool, choicesInPrompt: Bool?,
                metrics: [String], languages: [String]) throws(TemplateError) {
        self.id = id
        self.name = name
        self.jinja = jinja
        self.answerChoices = answerChoices
        self.originalTask = originalTask
        self.choicesInPrompt = choicesInPrompt
        self.metrics = metrics
        self.languages = languages
        usesChoice = jinja.contains("choice") && jinja.range(of: #"\|\s*choice\b"#, options: .regularExpression) != nil
        prompt = try Template(jinja.replacingOccurrences(of: "}}", with: Self.truncation), name: "\(name) (\(id))")
        choices = try answerChoices.map { source throws(TemplateError) in try Template(source, name: "\(name) (\(id)) answer_choices") }
    }

    /// The rendered parts (prompt, then target when the template renders one) and the answer choices.
    ///
    /// `row` holds the dataset's columns; `seed` decides what `choice` draws.
    public func apply(_ row: [String: TemplateValue], seed: UInt64 = 0) throws(TemplateError) -> (parts: [String], answerChoices: [String]?) {
        var protected = row
        for (key, value) in row {
            if case .string(let text) = value, let replaced = Self.replacing(Self.separator, with: Self.protector, in: text) {
                protected[key] = .string(replaced)
            }
        }
        var choiceList: [String]?
        if let choices {
            choiceList = Self.parts(try choices.render(protected, seed: seed)).map { Self.unprotect(PythonText.strip($0)) }
        }
        protected["answer_choices"] = choiceList.map { .array($0.map(TemplateValue.string)) } ?? TemplateValue.none
        let rendered = try prompt.render(protected, seed: seed)
        return (Self.parts(rendered).map { PythonText.strip(Self.unprotect($0)) }, choiceList)
    }

    // Byte-level search and replace: every row goes through these several times, and Foundation's string
    // search (which compares UTF-16) was most of a build's time.
    private static let separator = Array("|||".utf8)
    private static let protector = Array(pipeProtector.utf8)

    private static func unprotect(_ text: String) -> String { replacing(protector, with: separator, in: text) ?? text }

    /// The text split at every `|||`, as Python's `str.split("|||")`.
    private static func parts(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var parts: [String] = [], start = 0
        for match in occurrences(of: separator, in: bytes) {
            parts.append(String(decoding: bytes[start..<match], as: UTF8.self))
            start = match + separator.count
        }
        parts.append(String(decoding: bytes[start...], as: UTF8.self))
        return parts
    }

    /// `text` with every `target` replaced, or nil when it holds none.
    private static func replacing(_ target: [UInt8], with replacement: [UInt8], in text: String) -> String? {
        let bytes = Array(text.utf8)
        let matches = occurrences(of: target, in: bytes)
        guard !matches.isEmpty else { return nil }
        var out: [UInt8] = [], start = 0
        out.reserveCapacity(bytes.count)
        for match in matches {
            out += bytes[start..<match]
            out += replacement
            start = match + target.count
        }
        out += bytes[start...]
        return String(decoding: out, as: UTF8.self)
    }

    /// Start offsets of the non-overlapping occurrences of `needle`, left to right (as Python's `replace` and `split` find them).
    private static func occurrences(of needle: [UInt8], in bytes: [UInt8]) -> [Int] {
        guard let first = needle.first, bytes.count >= needle.count else { return [] }
        var found: [Int] = [], index = 0
        while index <= bytes.count - needle.count {
            if bytes[index] == first && bytes[index..<index + needle.count].elementsEqual(needle) {
                found.append(index)
                index += needle.count
            } else {
                index += 1
            }
        }
        return found
    }
}

/// The templates of one PromptSource dataset (or dataset subset): one `templates.yaml`.
public struct PromptSourceDataset: Sendable {
    /// The file's folder relative to the templates folder, e.g. `glue/mrpc` or `ag_news`: how the bench names the dataset.
    public var folder: String
    public var dataset: String
    public var subset: String?
    public var templates: [PromptSourceTemplate]
    /// The `templates.yaml` read.
    public var file: URL
}

/// Reads PromptSource's template files: a `templates` folder of `<dataset>[/<subset>]/templates.yaml`.
public enum PromptSourceTemplates {
    /// Every dataset's templates under `directory`, sorted by folder; templates keep their file order.
    public static func load(directory: URL) throws -> [PromptSourceDataset] {
        let root = directory.standardizedFileURL
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw BenchError.invalidSource("promptsource:\(directory.path)", reason: "cannot list the folder")
        }
        var files: [URL] = []
        for case let url as URL in walker where url.lastPathComponent == "templates.yaml" { files.append(url.standardizedFileURL) }
        if files.isEmpty {
            throw BenchError.invalidSource("promptsource:\(directory.path)", reason: "no templates.yaml under the folder")
        }
        let rootComponents = root.pathComponents
        return try files.map { file in
            let folder = Array(file.deletingLastPathComponent().pathComponents.dropFirst(rootComponents.count)).joined(separator: "/")
            return try load(file: file, folder: folder.isEmpty ? file.deletingLastPathComponent().lastPathComponent : folder)
        }.sorted { $0.folder < $1.folder }
    }

    /// One `templates.yaml`; `folder` names the dataset in the bench.
    public static func load(file: URL, folder: String) throws -> PromptSourceDataset {
        let path = file.path
        let text: String
        do { text = try UTF8File.read(file) } catch { throw BenchError.unreadableFile(path: path, reason: error.reason) }
        let top: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw BenchError.malformedFile(path: path, line: nil, reason: "empty file") }
            top = node
        } catch let error as BenchError { throw error } catch {
            throw BenchError.malformedFile(path: path, line: nil, reason: "\(error)")
        }
        guard let dataset = top["dataset"]?.string else { throw BenchError.missingKey(path: path, key: "dataset") }
        let subset = top["subset"].flatMap { $0.null == nil ? $0.string : nil }
        guard let entries = top["templates"]?.mapping else { throw BenchError.missingKey(path: path, key: "templates") }
        var templates: [PromptSourceTemplate] = []
        for (key, node) in entries {
            let where_ = "templates.\(key.string ?? "?")"
            func string(_ name: String) throws -> String? {
                guard let value = node[name], value.null == nil else { return nil }
                guard let string = value.string else { throw BenchError.wrongType(path: path, key: "\(where_).\(name)", expected: "a string") }
                return string
            }
            guard let id = try string("id") else { throw BenchError.missingKey(path: path, key: "\(where_).id") }
            guard let jinja = try string("jinja") else { throw BenchError.missingKey(path: path, key: "\(where_).jinja") }
            let name = try string("name") ?? id
            let metadata = node["metadata"]
            do {
                templates.append(try PromptSourceTemplate(
                    id: id, name: name, jinja: jinja, answerChoices: try string("answer_choices"),
                    originalTask: metadata?["original_task"]?.bool ?? false, choicesInPrompt: metadata?["choices_in_prompt"]?.bool,
                    metrics: metadata?["metrics"]?.sequence?.compactMap(\.string) ?? [],
                    languages: metadata?["languages"]?.sequence?.compactMap(\.string) ?? []))
            } catch {
                throw BenchError.badTemplate(path: path, template: "\(name) (\(id))", reason: "\(error)")
            }
        }
        return PromptSourceDataset(folder: folder, dataset: dataset, subset: subset, templates: templates, file: file)
    }
}
