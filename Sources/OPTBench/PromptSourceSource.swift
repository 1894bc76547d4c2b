import Foundation
import OPTSupport
import OPTData
import OPTTemplate

/// Which PromptSource templates make tasks.
public enum PromptSourceSelection: String, Sendable, CaseIterable {
    /// Templates marked `original_task: true`, as T0 and the paper train on.
    case original
    case all
}

/// Reads PromptSource tasks: every (dataset, subset, template) over the dataset's rows is a task of
/// benchmark `promptsource` with instance-level instructions; a template's answer choices become
/// the instance's options.
public struct PromptSourceSource {
    /// The `templates` folder.
    public var templates: URL
    /// The data: `<folder>/<dataset>[/<subset>]/<split>.{jsonl,json,csv,tsv,arrow}`, a `save_to_disk` folder or a
    /// Hugging Face cache there (see `DatasetSplit`).
    public var datasets: URL
    public var selection: PromptSourceSelection
    /// The split whose rows become instances (the bench then splits instances itself).
    public var split: String
    public var categories: PromptSourceCategories
    /// The seed of the templates' random choices (`choice`, `random`), the bench's.
    public var seed: UInt64

    public init(templates: URL, datasets: URL, selection: PromptSourceSelection = .original, split: String = "train",
                categories: PromptSourceCategories, seed: UInt64 = 0) {
        self.templates = templates
        self.datasets = datasets
        self.selection = selection
        self.split = split
        self.categories = categories
        self.seed = seed
    }

    /// The tasks of every dataset that has both templates and rows (datasets without a data folder are left out).
    public func load() throws -> [BenchTask] {
        let collections = try PromptSourceTemplates.load(directory: templates)
        try checkDataFolders(known: collections.map(\.folder))
        var tasks: [BenchTask] = []
        for collection in collections {
            let folder = datasets.appendingPathComponent(collection.folder, isDirectory: true)
            guard FileManager.default.fileExists(atPath: folder.path) else { continue }
            let chosen = collection.templates.filter { selection == .all || $0.originalTask }
            do {
                tasks += try Self.tasks(collection, templates: chosen, rows: try DatasetSplit.open(folder, split: split), categories: categories,
                                        seed: seed)
            } catch let error as DataError {
                throw BenchError(error)
            }
        }
        return tasks.sorted { $0.id < $1.id }
    }

    /// A data folder whose name no templates folder has is a mistake (a misspelt dataset), not data to skip.
    private func checkDataFolders(known: [String]) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: datasets.path)) ?? []
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: datasets.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BenchError.invalidSource("--datasets \(datasets.path)", reason: "no such folder")
        }
        let tops = Set(known.map { String($0.split(separator: "/").first ?? "") })
        // A Hugging Face cache keeps its raw downloads beside the datasets.
        for name in names.sorted() where !name.hasPrefix(".") && name != "downloads" {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: datasets.appendingPathComponent(name).path, isDirectory: &isFolder), isFolder.boolValue else { continue }
            if !tops.contains(name) {
                throw BenchError.invalidSource("--datasets \(datasets.appendingPathComponent(name).path)",
                                               reason: "PromptSource has no templates for a dataset \(name.debugDescription) (in \(templates.path))")
            }
        }
    }

    /// One task per template over the rows: rows a template renders no target for (a conditional template) are left out.
    ///
    /// The tasks do not hold their instances: one pass here counts them (and finds a template's errors before a
    /// long build), and each task renders its rows again when the build reads it, so that a source of hundreds of
    /// templates over large datasets never holds every instance at once.
    static func tasks(_ collection: PromptSourceDataset, templates: [PromptSourceTemplate], rows: DatasetSplit,
                      categories: PromptSourceCategories, seed: UInt64) throws -> [BenchTask] {
        let entry = categories.entry(collection.folder)
        let ids = taskIDs(collection.folder, templates)
        var counts = [Int](repeating: 0, count: templates.count)
        try rows.forEachRow { index, row in
            for (number, rendered) in try render(templates, row: row, index: index, seed: seed, path: rows.root.path).enumerated()
            where rendered.target.map { !$0.isEmpty } ?? false {
                counts[number] += 1
            }
            return true
        }
        return zip(templates, zip(ids, counts)).compactMap { template, item in
            let (id, count) = item
            guard count > 0 else { return nil }
            var task = BenchTask(id: id, benchmark: "promptsource", categories: [entry.category], sources: [entry.source ?? collection.folder],
                                 instructionLevel: .instance, templates: [template.name], instances: [],
                                 origin: "\(collection.file.path) × \(rows.root.path)")
            task.provider = InstanceProvider(count: count) { try instances(of: template, id: id, rows: rows, seed: seed) }
            return task
        }
    }

    /// The instances one template makes of the rows, in row order.
    static func instances(of template: PromptSourceTemplate, id: String, rows: DatasetSplit, seed: UInt64) throws -> [TaskInstance] {
        var instances: [TaskInstance] = []
        do {
            try rows.forEachRow { index, row in
                let rendered = try render([template], row: row, index: index, seed: seed, path: rows.root.path)[0]
                if let target = rendered.target, !target.isEmpty {
                    instances.append(TaskInstance(id: "\(id)-\(index)", input: rendered.input, outputs: [target], options: rendered.answerChoices))
                }
                return true
            }
        } catch let error as DataError {
            throw BenchError(error)
        }
        return instances
    }

    /// Every template applied to one row (number `index` of the file at `path`, for errors); `choice` draws
    /// with a seed made of `seed`, the template and the row.
    public static func render(_ templates: [PromptSourceTemplate], row: DatasetRow, index: Int, seed: UInt64, path: String) throws
        -> [RenderedPrompt] {
        let variables = TemplateValue.variables(row)
        return try templates.map { template in
            let rendered: (parts: [String], answerChoices: [String]?)
            do { rendered = try template.apply(variables, seed: StableHash.of(seed, "promptsource", template.id, "\(index)")) } catch {
                throw BenchError.templateFailed(path: path, row: index, template: "\(template.name) (\(template.id))", reason: "\(error)")
            }
            return RenderedPrompt(template: template.id, name: template.name, row: index, input: rendered.parts[0],
                                  target: rendered.parts.count > 1 ? rendered.parts[1] : nil, answerChoices: rendered.answerChoices)
        }
    }

    /// `promptsource_<folder>_<template name>` in lower-case letters, digits and `_`; a name two templates share gets the id's start.
    static func taskIDs(_ folder: String, _ templates: [PromptSourceTemplate]) -> [String] {
        func slug(_ text: String) -> String {
            let words = text.lowercased().unicodeScalars.split { !(("a"..."z").contains($0) || ("0"..."9").contains($0)) }
            return words.map { String(String.UnicodeScalarView($0)) }.joined(separator: "_")
        }
        let names = templates.map { slug($0.name) }
        return zip(templates, names).map { template, name in
            let unique = names.filter { $0 == name }.count == 1
            return "promptsource_\(slug(folder))_\(name)" + (unique ? "" : "_\(template.id.prefix(8))")
        }
    }
}

/// One template applied to one row: what `optiml bench render --json` prints, one object a line.
public struct RenderedPrompt: Encodable, Sendable, Equatable {
    /// The template's id.
    public var template: String
    public var name: String
    /// The row's 0-based index in its file.
    public var row: Int
    public var input: String
    /// nil when the template renders no `|||` target for the row.
    public var target: String?
    public var answerChoices: [String]?

    enum CodingKeys: String, CodingKey {
        case template, name, row, input, target
        case answerChoices = "answer_choices"
    }

    /// Writes `null` for a missing target or choices, as PromptSource's values print.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(template, forKey: .template)
        try container.encode(name, forKey: .name)
        try container.encode(row, forKey: .row)
        try container.encode(input, forKey: .input)
        try container.encode(target, forKey: .target)
        try container.encode(answerChoices, forKey: .answerChoices)
    }
}

/// The shipped map of PromptSource datasets onto the taxonomy's categories and source datasets
/// (`Resources/promptsource.json`), or a user's file in the same format.
public struct PromptSourceCategories: Sendable {
    public struct Entry: Decodable, Sendable {
        public var category: String
        /// The dataset's name across benchmarks, where it differs from the folder (e.g. `rte` for `super_glue/rte`).
        public var source: String?
    }
    private var datasets: [String: Entry]
    /// Where the map came from, for error messages.
    public let origin: String

    public static func builtin() throws -> PromptSourceCategories {
        guard let url = Bundle.module.url(forResource: "promptsource", withExtension: "json") else {
            throw BenchError.unreadableFile(path: "promptsource.json", reason: "the resource is missing from the OPTBench bundle")
        }
        return try PromptSourceCategories(file: url)
    }

    public init(file: URL) throws {
        struct File: Decodable { var datasets: [String: Entry] }
        do { datasets = try JSONDecoder().decode(File.self, from: Data(contentsOf: file)).datasets } catch {
            throw BenchError.malformedFile(path: file.path, line: nil, reason: FileProblem.reason(error))
        }
        origin = file.path
    }

    /// A dataset's entry; one the map does not know is filed under its own name as category `Misc.`.
    func entry(_ folder: String) -> Entry { datasets[folder] ?? Entry(category: "Misc.", source: nil) }
}

extension BenchError {
    /// A dataset file that cannot be read, at the line or place the reader names.
    init(_ error: DataError) {
        self = .malformedFile(path: error.file, line: error.line, reason: error.message + (error.location.map { " (\($0))" } ?? ""))
    }
}
