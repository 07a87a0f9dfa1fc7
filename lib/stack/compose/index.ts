// Compose files as a way into thresh stacks: conversion to thresh's definition, interpolation, env files.
export { convertCompose, looksLikeCompose, stackNameFrom } from './convert.ts'
export type { ComposeOptions, ComposeProblem, ComposeResult } from './convert.ts'
export { interpolate, parseEnvFile, splitCommand } from './interpolate.ts'
