import Foundation

/// Everything a bench build is given: the sources, the split and the choices that decide the bench.
public struct BenchBuildSettings: Sendable {
    /// Where the split comes from.
    public enum Split: Sendable, Equatable {
        /// Super-NI's official default split: its lists from a `niv2:` source's splits/ folder, else the shipped ones.
        case niv2Default
        /// The paper's held-out categories, partially held-out categories and held-out instances.
        case optIML
        /// A YAML or JSON split file; its names must be those of the sources' tasks and categories.
        case file(path: String)

        /// `niv2-default`, `opt-iml`, or a path ending in .yaml, .yml or .json.
        public init(parsing text: String) throws(BenchError) {
            switch text {
            case "niv2-default": self = .niv2Default
            case "opt-iml": self = .optIML
            case let file where [".yaml", ".yml", ".json"].contains(where: file.hasSuffix): self = .file(path: file)
            default: throw BenchError.unknownPreset(text)
            }
        }

        /// What the manifest records as the split's origin: the preset's name or the file's path.
        public var origin: String {
            switch self {
            case .niv2Default: return "niv2-default"
            case .optIML: return "opt-iml"
            case let .file(path): return path
            }
        }
    }

    public var sources: [TaskSource]
    public var split: Split
    /// The bench folder written.
    public var out: URL
    public var promptSource = BenchBuilder.PromptSourceOptions()
    /// Seed of every random choice; nil takes the split's own (0 for the presets).
    public var seed: UInt64?
    /// A category map to use instead of the built-in one.
    public var taxonomy: URL?
    /// Excludes the training task of every train/eval pair the n-gram audit reports.
    public var removeLeaks = false
    /// Replaces a bench already at `out`.
    public var replace = false

    public init(sources: [TaskSource], split: Split, out: URL) {
        self.sources = sources
        self.split = split
        self.out = out
    }
}

/// A built bench and the manifest written beside it.
public struct BenchBuildResult: Sendable {
    public var bench: Bench
    public var manifest: BenchManifest
}

extension BenchBuilder {
    /// Builds the bench `settings` describe and writes it to `settings.out`; `stageDone` is called after
    /// each stage (reading, splitting and auditing, writing) with what it did, for progress reports.
    public static func run(_ settings: BenchBuildSettings, stageDone: (String) -> Void = { _ in }) throws -> BenchBuildResult {
        // The split file is read first, so that a mistake in it shows before a long load.
        let given: SplitSpec?
        switch settings.split {
        case .niv2Default: given = nil  // its lists may come from the source's splits/ folder
        case .optIML: given = SplitSpec.optIML()
        case let .file(path): given = try SplitSpec.load(file: URL(fileURLWithPath: path))
        }
        let taxonomy = try settings.taxonomy.map { try Taxonomy(file: $0) } ?? Taxonomy.builtin()
        // The templates draw with the bench's seed: --seed, else the split's (the presets': 0).
        var promptSource = settings.promptSource
        promptSource.seed = settings.seed ?? given?.seed ?? 0
        let (tasks, counts, niv2Splits) = try loadTasks(settings.sources, promptSource: promptSource)
        stageDone("read \(tasks.count) tasks, \(tasks.reduce(0) { $0 + $1.instanceCount }) instances")
        var spec = try given ?? SplitSpec.niv2Default(lists: niv2Splits["default"] ?? SplitSpec.builtinNIV2DefaultLists())
        if settings.removeLeaks { spec.leakage.remove = true }
        // The presets name tasks that a partial collection may lack; a split file's names must all exist.
        let builder = BenchBuilder(spec: spec, seed: settings.seed, taxonomy: taxonomy, specOrigin: settings.split.origin,
                                   requireNamesExist: settings.split != .niv2Default && settings.split != .optIML)
        let bench = try builder.build(tasks: tasks)
        stageDone("split and audited")
        let manifest = try BenchStore.write(bench, sources: settings.sources, sourceCounts: counts, taxonomy: taxonomy,
                                            to: settings.out, replace: settings.replace)
        stageDone("wrote the bench")
        return BenchBuildResult(bench: bench, manifest: manifest)
    }
}
