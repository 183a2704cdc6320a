cwlVersion: v1.2
class: Workflow
inputs:
  message: string
outputs:
  final:
    type: File
    outputSource: count/counted
steps:
  write:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c]
      arguments: ['echo "writing $0"; echo "$0" > said.txt', $(inputs.message)]
      inputs: {message: string}
      outputs:
        said: {type: File, outputBinding: {glob: said.txt}}
    in: {message: message}
    out: [said]
  count:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c]
      arguments: ['echo counting; wc -c < $0 > count.txt', $(inputs.infile.path)]
      inputs: {infile: File}
      outputs:
        counted: {type: File, outputBinding: {glob: count.txt}}
    in: {infile: write/said}
    out: [counted]
